import { describe, expect, it } from 'vitest';
import { parseImageReference } from './image-reference';
import { PullError } from './pull-error';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['org/app:tag', { repository: 'org/app', reference: 'tag' }],
    ['org/app', { repository: 'org/app', reference: 'latest' }],
    [`org/app@${digest}`, { repository: 'org/app', reference: digest }],
    ['dtr.example.com:5443/org/app:v1', { repository: 'org/app', reference: 'v1' }],
  ])('reads %s', (image, expected) => {
    expect(parseImageReference(image, 'dtr.example.com:5443')).toEqual(expected);
  });

  it.each(['Org/App:tag', 'org/app:', 'org/app@latest', 'other.example.com/org/app:v1', ''])(
    'refuses %j naming the forms',
    (image) => {
      expect(() => parseImageReference(image, 'dtr.example.com:5443')).toThrow(PullError);
      expect(() => parseImageReference(image, 'dtr.example.com:5443')).toThrow(
        'namespace/repo:tag or namespace/repo@sha256:',
      );
    },
  );
});
