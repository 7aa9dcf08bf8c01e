/**
 * The Standard Schema interface (version 1), declared here so the package has no runtime
 * dependency: zod 4, valibot, arktype and any other implementation are accepted as they are.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

/** Types belonging to {@link StandardSchemaV1}. */
export declare namespace StandardSchemaV1 {
  /** What every implementation exposes under `~standard`. */
  export interface Props<Input = unknown, Output = Input> {
    /** Always 1. */
    readonly version: 1;
    /** The library's name. */
    readonly vendor: string;
    /** Checks a value; may answer synchronously or with a promise. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Type carriers for inference only. */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** The outcome of `validate`. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** A value that passed, possibly transformed. */
  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }

  /** A value that failed, with at least one issue. */
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One problem found in a value. */
  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** A path element given as an object. */
  export interface PathSegment {
    readonly key: PropertyKey;
  }

  /** Type carriers. */
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }

  /** The input type of a schema. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<
    Schema['~standard']['types']
  >['input'];

  /** The output type of a schema. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema['~standard']['types']
  >['output'];
}
