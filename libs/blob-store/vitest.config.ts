import { projectTestConfig } from '../../vitest.shared';

export default projectTestConfig('blob-store');
