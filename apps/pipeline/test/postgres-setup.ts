// The throwaway PostgreSQL cluster of @savepoint/store-postgres's tests, for the CLI's --store tests:
// skipped loudly when no server can start, a failure with CI=true.
export { setup, teardown } from '../../../packages/store-postgres/test/global-setup.ts';
