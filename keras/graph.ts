/**
 * Checks of a model topology in tfjs form (`{class_name, config: {layers,
 * input_layers, output_layers}}`, as `tf.models.modelFromJSON` takes it)
 * before tfjs-layers builds it. `fromConfig` queues every node whose inputs
 * do not exist yet and retries it forever: a node naming a missing layer, a
 * node index the layer never gets, or two layers that feed each other send
 * it into a synchronous endless loop no time limit can stop. Layer names are
 * keys of plain objects inside tfjs-layers, so a name such as
 * `hasOwnProperty` breaks it with a raw TypeError. Pure data work.
 */

import {isObject} from './format';
import type {Json} from './format';

/** The deepest JSON nesting a model config may have (Keras' configs of nested models stay under 40). */
export const MAX_CONFIG_DEPTH = 100;

/** Throws when `value` nests deeper than `max` arrays and objects (checked without recursion). */
export function checkDepth(value: unknown, max: number, where: string, what: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) throw new Error(`${where}: ${what} nests deeper than ${max} levels of arrays and objects.`);
    for (const child of Object.values(v as Json)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

/** A name tfjs-layers can hold as a key: a non-empty string that is not a property of every object. */
function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return `a layer name must be a non-empty string, but one is ${JSON.stringify(name)}`;
  if (name in Object.prototype) {
    return `the layer name '${name}' cannot be used: it is a built-in property of every JavaScript object, which ` +
      'TF.js keys its layers by';
  }
  return null;
}

const CONTAINERS = new Set(['Model', 'Functional', 'Sequential']);

/** [layer name, node index, tensor index] of each inbound tensor of a node (tfjs' `[[name, node, tensor, kwargs], …]`). */
function nodeInputs(node: unknown): [unknown, unknown, unknown][] {
  return Array.isArray(node) ? node.map((t) => (Array.isArray(t) ? [t[0], t[1], t[2]] : [t, 0, 0])) : [];
}

/**
 * Checks one container and every container nested in it. Throws one error
 * naming the container, the layer and what is wrong.
 */
export function checkTopology(topology: unknown, where: string): void {
  if (!isObject(topology)) throw new Error(`${where}: the model topology must be an object, but is ${JSON.stringify(topology)}.`);
  checkDepth(topology, MAX_CONFIG_DEPTH, where, 'the model config');
  checkContainer(topology, where, 'the model');
}

function checkContainer(container: Json, where: string, scope: string): void {
  const cls = String(container.class_name);
  const config = isObject(container.config) ? container.config : {};
  const name = typeof config.name === 'string' ? config.name : typeof container.name === 'string' ? container.name : '';
  const here = scope === 'the model' ? `the model${name ? ` '${name}'` : ''}` : `the nested model '${name}'`;
  const fail = (why: string) => new Error(`${where}: ${here}: ${why}.`);
  if (!Array.isArray(config.layers)) throw fail(`its config has no list of layers (layers: ${JSON.stringify(config.layers)})`);
  const layers = config.layers as unknown[];
  const byName = new Map<string, Json>();
  for (const [i, layer] of layers.entries()) {
    if (!isObject(layer)) throw fail(`layer ${i} is ${JSON.stringify(layer)}, not a layer config`);
    const lconfig = isObject(layer.config) ? layer.config : {};
    const lname = cls === 'Sequential' ? lconfig.name ?? layer.name : layer.name ?? lconfig.name;
    const problem = nameProblem(lname);
    if (problem) throw fail(problem);
    if (byName.has(lname as string)) throw fail(`two layers are named '${String(lname)}'; layer names must be unique`);
    byName.set(lname as string, layer);
    if (CONTAINERS.has(String(layer.class_name)) && isObject(layer.config)) checkContainer(layer, where, 'nested');
    // A layer that wraps models (StochasticResidual's branch and shortcut): check those too.
    for (const child of Object.values(lconfig)) {
      if (isObject(child) && CONTAINERS.has(String(child.class_name)) && isObject(child.config)) checkContainer(child, where, 'nested');
    }
  }
  if (cls === 'Sequential') return;

  // How many nodes each layer will have: an InputLayer one, a nested model one of its own plus its calls, a layer its calls.
  const nodesOf = (layer: Json) => {
    const calls = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes.length : 0;
    if (layer.class_name === 'InputLayer') return 1;
    return CONTAINERS.has(String(layer.class_name)) ? calls + 1 : calls;
  };
  const firstCall = (layer: Json) => (CONTAINERS.has(String(layer.class_name)) ? 1 : 0);
  const ref = (l: unknown, n: unknown, t: unknown, what: string): string => {
    if (typeof l !== 'string' || !byName.has(l)) {
      throw fail(`${what} names the layer ${JSON.stringify(l)}, which this model does not have`);
    }
    const target = byName.get(l) as Json;
    if (!Number.isSafeInteger(n) || (n as number) < 0 || (n as number) >= nodesOf(target)) {
      throw fail(`${what} takes node ${JSON.stringify(n)} of layer '${l}', which has ${nodesOf(target)} node` +
        `${nodesOf(target) === 1 ? '' : 's'}`);
    }
    if (!Number.isSafeInteger(t) || (t as number) < 0) throw fail(`${what} takes tensor ${JSON.stringify(t)} of layer '${l}'`);
    return `${l}#${n}`;
  };

  // Each node (layer, k) needs the node before it (tfjs makes a layer's nodes in order) and the nodes of its inputs.
  const needs = new Map<string, string[]>();
  for (const [lname, layer] of byName) {
    if (layer.class_name === 'InputLayer') {
      needs.set(`${lname}#0`, []);
      continue;
    }
    const calls = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes : [];
    const first = firstCall(layer);
    if (first) needs.set(`${lname}#0`, []);
    calls.forEach((node, k) => {
      const inputs = nodeInputs(node).map(([l, n, t]) => ref(l, n, t, `layer '${lname}'`));
      if (first + k > 0) inputs.push(`${lname}#${first + k - 1}`);
      needs.set(`${lname}#${first + k}`, inputs);
    });
  }
  // Kahn's order: whatever is left unresolved lies on a cycle.
  const waiting = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const [node, inputs] of needs) {
    waiting.set(node, inputs.length);
    for (const input of inputs) users.set(input, [...(users.get(input) ?? []), node]);
  }
  const ready = [...needs.keys()].filter((n) => waiting.get(n) === 0);
  let resolved = 0;
  while (ready.length) {
    const node = ready.pop() as string;
    resolved++;
    for (const user of users.get(node) ?? []) {
      const left = (waiting.get(user) as number) - 1;
      waiting.set(user, left);
      if (left === 0) ready.push(user);
    }
  }
  if (resolved < needs.size) {
    const stuck = [...new Set([...waiting].filter(([, n]) => n > 0).map(([node]) => node.slice(0, node.lastIndexOf('#'))))];
    throw fail(`its layers ${stuck.slice(0, 6).map((l) => `'${l}'`).join(', ')}${stuck.length > 6 ? ', …' : ''} feed each other ` +
      'in a cycle, so the graph has no order to run in');
  }
  const ends = (v: unknown, what: string) => {
    const list = Array.isArray(v) && typeof v[0] === 'string' ? [v] : Array.isArray(v) ? v : [];
    if (!list.length) throw fail(`it has no ${what}`);
    list.forEach((e: unknown) => {
      const [l, n, t] = Array.isArray(e) ? e : [e, 0, 0];
      ref(l, n, t, `its ${what}`);
    });
  };
  ends(config.input_layers, 'input_layers');
  ends(config.output_layers, 'output_layers');
}
