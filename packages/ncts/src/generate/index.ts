// STUB: implemented by the sandbox helper. Builders of realistic NCTS messages for the sandbox,
// tests, the demo and benchmarks.
export {};
