import type * as pulumi from "@pulumi/pulumi";
import { LOOKUP_KEY } from "../provider/lookup";

type Props = Record<string, unknown>;

/**
 * The object Pulumi serialises into every resource's `__provider`. It holds nothing but the resource kind and
 * loads the implementation by package name at call time, so `__provider` stays small, carries no credential and
 * no machine path, and state written by one version of this package is handled by whichever version is
 * installed when it is refreshed or destroyed.
 */
export interface ProviderStub extends pulumi.dynamic.ResourceProvider {
  readonly kind: string;
}

/**
 * Builds the provider object of one resource kind. A plain object rather than a class instance: Pulumi's
 * serialiser writes a class's constructor and one `defineProperty` line per method as well, which made
 * `__provider` (sent with every call to the host and stored twice per resource in state) about 60% larger. The
 * methods read `this.kind`, so they capture nothing.
 */
export function providerStub(kind: string): ProviderStub {
  return {
    kind,
    async configure(req: pulumi.dynamic.ConfigureRequest) {
      require("pulumi-dynamiq/provider").configure(req.config);
    },
    async check(olds: Props, news: Props) {
      return require("pulumi-dynamiq/provider").dynamicProvider(this.kind).check(olds, news);
    },
    async diff(id: string, olds: Props, news: Props) {
      return require("pulumi-dynamiq/provider").dynamicProvider(this.kind).diff(id, olds, news);
    },
    async create(inputs: Props) {
      return require("pulumi-dynamiq/provider").dynamicProvider(this.kind).create(inputs);
    },
    async read(id: string, props?: Props) {
      return require("pulumi-dynamiq/provider").dynamicProvider(this.kind).read(id, props);
    },
    async update(id: string, olds: Props, news: Props) {
      return require("pulumi-dynamiq/provider").dynamicProvider(this.kind).update(id, olds, news);
    },
    async delete(id: string, props: Props) {
      return require("pulumi-dynamiq/provider").dynamicProvider(this.kind).delete(id, props);
    },
  };
}

/**
 * The properties a resource registers: its inputs and outputs, less an `adoptId` that is not set. Pulumi's program
 * runtime does work for every registered property (it makes each an Output, about four promises), and `adoptId`
 * is read once, by create; an unset one would cost every resource that work for nothing.
 */
export function registered(props: Props): Props {
  const { adoptId, ...rest } = props;
  return adoptId === undefined ? rest : props;
}

/**
 * The properties a lookup by id (a class's static `get`) registers: every property the class registers, unset,
 * so that the engine's Read fills each one it can, and the few the Read needs to find the object (`state`).
 */
export function lookedUp(props: Props, state: object = {}): Props {
  const unset = Object.fromEntries(Object.keys(props).map((k) => [k, undefined]));
  return { ...unset, ...state, [LOOKUP_KEY]: true };
}

/** What a class registers: a lookup (`opts.id` set by its static `get`) or a resource it manages. */
export function registration(
  props: Props,
  opts: pulumi.CustomResourceOptions | undefined,
  state: object | undefined,
): Props {
  return opts?.id === undefined ? registered(props) : lookedUp(props, state);
}

/** A value a program may give as a plain value or an Output, at every level of objects and maps. */
export type DeepInput<T> = T extends string | number | boolean | undefined | null
  ? pulumi.Input<T>
  : T extends readonly (infer E)[]
    ? pulumi.Input<DeepInput<E>[]>
    : pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>;

/**
 * The arguments of a resource class, derived from its provider's input type (so the two cannot drift): every
 * property may be an Output, at any depth, and keeps its optionality and documentation.
 */
export type Args<T> = { [K in keyof T]: DeepInput<T[K]> };
