// Test helper: assertions shared by the client tests.
import assert from 'node:assert/strict';
import { ClusterError } from '../../src/index.js';

/** Asserts the promise rejects with a ClusterError of this code, and returns that error. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<ClusterError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return e instanceof ClusterError && e.code === code;
  });
  return caught as ClusterError;
}
