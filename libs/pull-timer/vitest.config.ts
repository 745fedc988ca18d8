import { projectTestConfig } from '../../vitest.shared';

export default projectTestConfig('pull-timer');
