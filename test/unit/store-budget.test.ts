import { AsyncLocalStoreBudget } from '../../src/adapters/system/async-local-store-budget.js';
import { storeBudgetContract } from '../contracts/store-budget.contract.js';

storeBudgetContract('AsyncLocalStoreBudget', () => new AsyncLocalStoreBudget());
