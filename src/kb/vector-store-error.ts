import { KalemError } from '../core/errors.js';

/** A vector store failed: the operation and the HTTP status when there is one, never a response body. */
export class VectorStoreError extends KalemError {
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly aborted = false,
  ) {
    super('KALEM_ERR_KB_VECTOR_STORE', message);
    this.name = 'VectorStoreError';
  }
}
