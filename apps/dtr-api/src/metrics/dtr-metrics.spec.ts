import { describe, expect, it } from 'vitest';
import { DtrMetrics } from './dtr-metrics';

describe('DtrMetrics', () => {
  it('keeps the last upload session count while the database does not answer', async () => {
    const metrics = new DtrMetrics();
    let answer: () => Promise<number> = async () => 3;
    metrics.countUploadsWith(() => answer());
    expect(await metrics.registry.metrics()).toContain('dtr_upload_sessions 3');
    answer = () => Promise.reject(new Error('connection refused'));
    expect(await metrics.registry.metrics()).toContain('dtr_upload_sessions 3');
  });
});
