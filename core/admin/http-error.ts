/** A 4xx answer with Kong's `{"message": ...}` body. */
export class HttpError extends Error {
  constructor (readonly statusCode: number, message: string) { super(message) }
}
