const usageErrorBrand = Symbol.for('@tinyrpc/cli/UsageError');

/** Wrong command-line arguments: `tinyrpc` prints the message and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly [usageErrorBrand] = true;

  /** `true` for a {@link UsageError}. */
  static is(value: unknown): value is UsageError {
    return typeof value === 'object' && value !== null && usageErrorBrand in value;
  }
}
