/**
 * The package's one walk of a model graph. Every file that looks into a model
 * — the layer finder, the summary, block analysis, pruning, the scheduler,
 * StochasticResidual's name checks, the training paths — goes through these;
 * none reads `.layers`, inbound nodes or a wrapper's children itself.
 *
 * Two kinds of edge: ownership (a model's `layers`, a wrapper's
 * `nestedLayers()`: StochasticResidual's branch and shortcut) and data flow
 * (a layer's inbound and outbound nodes in the graph it is applied in).
 */
import type {layers} from '@tensorflow/tfjs-layers';

type Layer = InstanceType<typeof layers.Layer>;

/** The layers `layer` owns, in order: a model's layers, or a wrapper's children (`nestedLayers()`). */
export function ownedLayers(layer: Layer): Layer[] {
  const wrapper = layer as {nestedLayers?: () => Layer[]};
  if (typeof wrapper.nestedLayers === 'function') return wrapper.nestedLayers();
  const inner = (layer as {layers?: Layer[]}).layers;
  return Array.isArray(inner) ? inner : [];
}

/** Whether `layer` is a model (it has its own `layers`), as opposed to a single layer or a wrapper. */
export function isModel(layer: unknown): boolean {
  return layer !== null && typeof layer === 'object' && Array.isArray((layer as {layers?: unknown}).layers);
}

/**
 * Every layer under `root` (itself excluded), depth first in layer order, nested models and wrapper
 * children included, each once (a shared layer at its first place). `descend` may stop the walk below
 * a layer by returning false.
 */
export function allNestedLayers(root: Layer, descend: (layer: Layer) => boolean = () => true): Layer[] {
  const out: Layer[] = [];
  const seen = new Set<Layer>([root]);
  const visit = (layer: Layer) => {
    for (const child of ownedLayers(layer)) {
      if (!child || seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      if (descend(child)) visit(child);
    }
  };
  visit(root);
  return out;
}

/** The owner of every layer under `root` (a layer owned twice keeps its first owner). */
export function owners(root: Layer): Map<Layer, Layer> {
  const owner = new Map<Layer, Layer>();
  const visit = (layer: Layer) => {
    for (const child of ownedLayers(layer)) {
      if (child && !owner.has(child) && child !== root) {
        owner.set(child, layer);
        visit(child);
      }
    }
  };
  visit(root);
  return owner;
}

/** Every name under `layer`, itself included: its own, and those of every layer it owns, recursively. */
export function allNames(layer: Layer): string[] {
  return [layer.name, ...allNestedLayers(layer).map((l) => l.name)];
}

/** How many times `layer` is applied in the graphs it is part of (its inbound nodes). */
export function callCount(layer: Layer): number {
  return layer.inboundNodes.length;
}

/** A tensor of the graph as tfjs refers to it: the layer that made it, which call (node) and which output. */
export type TensorRef = [Layer, number, number];

/** The tensors call `call` of `layer` takes, in order. */
export function callInputs(layer: Layer, call = 0): TensorRef[] {
  const node = layer.inboundNodes[call];
  if (!node) return [];
  return node.inboundLayers.map((l, i) => [l, node.nodeIndices[i] ?? 0, node.tensorIndices[i] ?? 0] as TensorRef);
}

/** The shape of a tensor of the graph. */
export function shapeOf([layer, call, index]: TensorRef): (number | null)[] {
  const t = layer.inboundNodes[call]?.outputTensors[index] ?? (Array.isArray(layer.output) ? layer.output[index] : layer.output);
  return (t as {shape: (number | null)[]}).shape;
}

/** The layers that feed `layer` directly, over all its calls. */
export function inputsOf(layer: Layer): Layer[] {
  return layer.inboundNodes.flatMap((n) => n.inboundLayers);
}

/** The layers `layer`'s output feeds directly, over all its calls. */
export function consumersOf(layer: Layer): Layer[] {
  return layer.outboundNodes.map((n) => n.outboundLayer).filter((l): l is Layer => Boolean(l));
}

/** The layers feeding `layer` in its graph, transitively (itself excluded). */
export function upstreamOf(layer: Layer): Set<Layer> {
  const out = new Set<Layer>();
  const stack = [layer];
  while (stack.length) {
    for (const l of inputsOf(stack.pop() as Layer)) {
      if (!out.has(l)) {
        out.add(l);
        stack.push(l);
      }
    }
  }
  return out;
}

/** Every layer of the graphs `start` is applied in (through inbound and outbound nodes), itself included. */
export function connectedLayers(start: Layer): Set<Layer> {
  const seen = new Set<Layer>([start]);
  const stack = [start];
  while (stack.length > 0) {
    const layer = stack.pop() as Layer;
    for (const l of [...inputsOf(layer), ...consumersOf(layer)]) {
      if (!seen.has(l)) {
        seen.add(l);
        stack.push(l);
      }
    }
  }
  return seen;
}
