/** The message of an error-like value, for error texts. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
