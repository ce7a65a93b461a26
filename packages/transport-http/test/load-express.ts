// Express 5 for the tests, loaded once.
const { default: express } = await import('express');
export { express };
