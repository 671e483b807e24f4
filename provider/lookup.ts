/**
 * The property a lookup by id (a class's static `get`) registers besides the class's own: it tells the provider
 * that the object must exist. A refresh that finds a managed object gone drops it from state; a lookup of an id
 * that does not exist is an error, which the engine would otherwise not raise (it records an empty read).
 */
export const LOOKUP_KEY = "__lookup";
