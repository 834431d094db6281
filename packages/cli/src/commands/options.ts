import { InvalidArgumentError, type Command } from 'commander';

export interface PagingOptions {
  page?: number;
  count?: number;
}

const positive = (value: string): number => {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1)
    throw new InvalidArgumentError('must be a positive number');
  return number;
};

export const pagingOptions = (command: Command): Command =>
  command
    .option('--page <n>', 'page, from 1', positive)
    .option('--count <n>', 'items per page (default 25, at most 500)', positive);
