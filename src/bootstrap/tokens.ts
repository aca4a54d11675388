import type { Container, ContainerModuleLoadOptions, ServiceIdentifier } from 'inversify';

/*
 * Typed service identifiers. inversify's own `ServiceIdentifier<T>` is a
 * plain symbol for the compiler, so any symbol fits any type. A `Token<T>`
 * carries its type: a class is its own token, and a port (an interface) gets
 * a symbol made by `token<T>()`. Bindings are made and read only through
 * `provide`, `constant` and `resolve` below: a factory's dependencies are
 * named, each checked against the token it comes from, and what is read is
 * what was bound. That is the one place where the container's untyped values
 * are given their types.
 */

declare const carries: unique symbol;

// A class of any constructor is a token for its instances; `any[]` is what inversify's own AbstractNewable uses.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Token<T> = (symbol & { readonly [carries]?: T }) | (abstract new (...args: any[]) => T);

export function token<T>(name: string): Token<T> {
  return Symbol(name) as Token<T>;
}

type Bind = ContainerModuleLoadOptions['bind'];

/** Binds `token` to what `make` builds from the named dependencies, once per container. */
export function provide<T, D extends object>(
  bind: Bind,
  target: Token<T>,
  dependencies: { readonly [K in keyof D]: Token<D[K]> },
  make: (dependencies: D) => T,
): void {
  const names = Object.keys(dependencies) as (keyof D)[];
  const identifiers: ServiceIdentifier[] = names.map((name) => dependencies[name]);
  bind(target).toResolvedValue(
    (...values: unknown[]) => make(Object.fromEntries(names.map((name, i) => [name, values[i]])) as D),
    identifiers,
  );
}

export function constant<T>(bind: Bind, target: Token<T>, value: T): void {
  bind(target).toConstantValue(value);
}

export function resolve<T>(container: Container, source: Token<T>): T {
  return container.get<T>(source);
}

/**
 * Binds `target` to a function that resolves `source` when first called:
 * for a dependency that must not be built before its turn to start, or that
 * would otherwise close a cycle.
 */
export function lazy<T>(bind: Bind, target: Token<() => T>, source: Token<T>): void {
  bind(target).toDynamicValue((context) => () => context.get<T>(source));
}
