"""Localization worker: one side of a `LocalizeRequest` (tf_equiv.protocol.requests).

TF1: the pair's inference graph at the check's weights; every float tensor the outputs depend on
is fetched in chunks and written to <out>/tf1/ (one .npy each, an index.json in creation order),
and a `captured` event names the index. TF2: the shim model traced by wrap_function, its ops aligned
with TF1's by name, compared in TF1's order, then shadow mode at the first divergence; a `localized`
event carries the findings. Both speak the worker protocol (tf_equiv.run.protocol); `fatal` says why
a side could not.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from tf_equiv.files import write_json
from tf_equiv.protocol import relays
from tf_equiv.protocol.relays import CaptureRelay, ErrorRelay
from tf_equiv.protocol.requests import LocalizeRequest, Numerics
from tf_equiv.worker.alignment import align, block_of, culprit, in_block, stats

#: Ops whose outputs are weights, inputs or constants, not computations of the forward pass.
NOT_COMPUTED = {"Placeholder", "PlaceholderWithDefault", "Const", "VariableV2", "VarHandleOp",
                "ReadVariableOp", "VarIsInitializedOp"}
#: Bytes fetched per forward pass: the memory bound of a side, whatever the network's size.
CHUNK_BYTES = 128 * 2 ** 20
AROUND = 3
NAMES_SHOWN = 5


def run(request: LocalizeRequest, tf: Any, channel: Any) -> None:
    """One side of the localization, under the run's numerics (worker/__main__.py frames it)."""
    from tf_equiv.run import protocol

    # Fused kernels (remapping) would change an op's value depending on whether it is fetched:
    # every op is computed on its own on both sides, as eager TF2 does.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    if request.side == "tf1":
        index = os.path.join(request.out, "tf1", "index.json")
        os.makedirs(os.path.dirname(index), exist_ok=True)
        write_json(index, _tf1(tf, request), default=str)
        channel.send(protocol.Captured(index))
    else:
        channel.send(protocol.Localized(json.loads(json.dumps(_tf2(tf, request), default=str))))


def _load(args: LocalizeRequest) -> tuple:
    from tf_equiv import Pair
    from tf_equiv.worker.inputs import resolve_inputs
    from tf_equiv.worker.user_code import UserError, load_module

    pair = getattr(load_module(args.module), args.pair, None)
    if not isinstance(pair, Pair):
        raise UserError(f"{args.pair} is not a tf_equiv.Pair in {os.path.basename(args.module)}")
    if pair.problems:
        raise UserError(f"bad Pair {args.pair!r}: " + "; ".join(pair.problems))
    return pair, resolve_inputs(pair)


def computed_tensors(outputs: Sequence[Any]) -> list:
    """The float tensors `outputs` depend on that the forward pass computes, in creation order."""
    seen: dict = {}
    stack = list(outputs)
    while stack:
        t = stack.pop()
        if t.name in seen:
            continue
        seen[t.name] = t
        stack.extend(t.op.inputs)
    graph = outputs[0].graph
    position = {op.name: i for i, op in enumerate(graph.get_operations())}
    kept = [t for t in seen.values() if t.dtype.is_floating and not _is_weight(t.op)]
    return sorted(kept, key=lambda t: (position[t.op.name], t.value_index))


def _is_weight(op: Any) -> bool:
    if op.type in NOT_COMPUTED:
        return True
    # `kernel/read` of a reference variable
    return op.type == "Identity" and bool(op.inputs) and op.inputs[0].op.type in NOT_COMPUTED


def _chunks(items: Sequence[Any], nbytes: Callable[[Any], int]) -> Iterator[list]:
    chunk: list[Any] = []
    size = 0
    for item in items:
        if chunk and size + nbytes(item) > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += nbytes(item)
    if chunk:
        yield chunk


def _static_bytes(t: Any) -> int:
    shape = t.shape
    known = shape.is_fully_defined() if shape.rank is not None else False
    return int(np.prod(shape.as_list())) * t.dtype.size if known else 4 * 2 ** 20


# --- the TF1 side -------------------------------------------------------------------------------

def _tf1(tf: Any, args: LocalizeRequest) -> dict:
    from tf_equiv.run.records import save_arrays
    from tf_equiv.worker import tf1
    from tf_equiv.worker.config import SEED
    from tf_equiv.worker.record_files import record_name

    pair, inputs = _load(args)
    folder = os.path.join(args.out, "tf1")
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(SEED)
        with _session(tf, graph, args.options.numerics) as sess:
            # The values the checks started from: the code's initial ones, or a SavedModel's.
            built, _ = tf1.inference_graph(pair, inputs, sess)
            tensors = computed_tensors([t for _, t in built.leaves])
            variables = ""
            if args.weights == "constant":
                tf1.set_constant(sess, built.variables, pair.constant)
            elif args.weights == "checkpoint":
                if built.variables:     # none: a frozen graph holds the values as constants
                    tf.compat.v1.train.Saver(var_list=built.variables).restore(
                        sess, pair.resolved_checkpoint())
            else:
                values = dict(zip((record_name(v.name) for v in built.variables),
                                  sess.run(built.variables)))
                variables = save_arrays(os.path.join(folder, "variables.npz"), values)
            entries, capped = _capture(sess, built.feed, tensors, folder, args.limit_bytes)
    return {"entries": entries, "capped": capped, "computed": len(tensors), "variables": variables,
            "outputs": {name: t.name for name, t in built.leaves}}


def _session(tf: Any, graph: Any, numerics: Numerics) -> Any:
    """A session under the numerics of the run whose failure this localizes: with
    `tf1_optimized` grappler's passes stay on, as they were (the fetched ops are not fused)."""
    from tf_equiv.worker.config import session_config

    return tf.compat.v1.Session(graph=graph,
                                config=session_config(tf, numerics, numerics.tf1_optimized))


def _capture(sess: Any, feed: dict, tensors: list, folder: str, limit: int) -> tuple:
    """Fetch the tensors a chunk at a time and write each to disk with its statistics."""
    entries: list = []
    total = 0
    for chunk in _chunks(tensors, _static_bytes):
        for t, value in zip(chunk, sess.run(chunk, feed)):
            if total + value.nbytes > limit:
                return entries, True
            total += value.nbytes
            path = os.path.join(folder, f"{len(entries):05d}.npy")
            np.save(path, value)
            entries.append({"tensor": t.name, "op": t.op.name, "type": t.op.type,
                            "inputs": [i.name for i in t.op.inputs], "file": path,
                            "shape": list(value.shape), "dtype": value.dtype.name,
                            "stats": stats(value)})
    return entries, False


# --- the TF2 side -------------------------------------------------------------------------------

def _tf2(tf: Any, args: LocalizeRequest) -> dict:
    from tf_equiv.worker import tf1, tf2
    from tf_equiv.worker.nested import flatten
    from tf_equiv.worker.user_code import UserError, call_user

    pair, inputs = _load(args)
    model = tf2.Model(pair, inputs)
    model(False, "model(inputs, training=False) (first call)")
    flat = [a for _, a in flatten(inputs, "inputs")]
    specs = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for a in flat]
    traced = tf.compat.v1.wrap_function(
        lambda *xs: call_user("model(inputs, training=False) traced by wrap_function",
                              model.model, tf1.restructure(inputs, iter(xs)), training=False),
        specs)
    told = relays.receive(sys.stdin, CaptureRelay, "the parent sent nothing")
    if isinstance(told, ErrorRelay):
        raise UserError(f"TF1 side: {told.error}", told.detail)
    with open(told.index, encoding="utf-8") as f:
        index = json.load(f)
    _set_tf2_weights(tf, model, args.weights, index["variables"])
    run = _Traced(tf, traced, len(flat), [tf.constant(a) for a in flat])
    outputs = {name: t for name, t in flatten(traced.structured_outputs) if tf.is_tensor(t)}
    return _compare(pair, index, run, outputs, args)


def _set_tf2_weights(tf: Any, model: Any, weights: str, variables: str) -> None:
    from tf_equiv.worker import tf2

    if weights == "constant":
        for v in model.variables:
            if v.dtype.is_floating:
                v.assign(tf.fill(v.shape, tf.cast(model.pair.constant, v.dtype)))
    elif weights == "checkpoint":
        reader = tf.train.load_checkpoint(model.pair.resolved_checkpoint())
        for v in model.variables:
            v.assign(reader.get_tensor(model.name(v)))
    else:
        with np.load(variables, allow_pickle=False) as z:
            tf2.assign_transfer(model, {name: z[name] for name in z.files})


class _Traced:
    """The traced TF2 model, run pruned: any tensors fetched, any intermediate tensors fed."""

    def __init__(self, tf: Any, traced: Any, n_inputs: int, inputs: list) -> None:
        self.tf, self.traced, self.inputs = tf, traced, inputs
        self.placeholders = list(traced.graph.inputs[:n_inputs])

    def fetch(self, fetches: list, fed: Sequence[tuple] = ()) -> list:
        """Values of `fetches`, with (tensor, value) pairs of `fed` replacing what TF2 computes."""
        fn = self.traced.prune(feeds=self.placeholders + [t for t, _ in fed], fetches=fetches)
        values = fn(*self.inputs, *[self.tf.constant(v) for _, v in fed])
        return [np.asarray(v) for v in values]


def _compare(pair: Any, index: dict, run: _Traced, outputs: dict,
             args: LocalizeRequest) -> dict:
    from tf_equiv.verdict.compare import compare_arrays

    entries = index["entries"]
    prefix, aligned, tf1_only, tf2_only = _alignment(entries, outputs)

    def strip(name: str) -> str:
        return _unprefixed(name, prefix)

    rows: list = []
    first = earliest = None
    by_tensor = {e["tensor"]: (e, t) for e, t in aligned}
    for chunk in _chunks(aligned, lambda item: _static_bytes(item[1])):
        for (e, t), value in zip(chunk, run.fetch([t for _, t in chunk])):
            tf1_value = np.load(e["file"], allow_pickle=False)
            c = compare_arrays(e["op"], tf1_value, value, *pair.tolerance_for(e["op"]))
            rows.append({"op": _short(e["tensor"]), "type": e["type"], "passed": bool(c),
                         "comparison": asdict(c)})
            if first is None and earliest is None and tf1_value.shape == value.shape \
                    and not np.array_equal(tf1_value, value, equal_nan=True):
                earliest = {"op": _short(e["tensor"]), "type": e["type"], "max_abs": c.max_abs}
            if first is None and not c:
                first = _first(e, t, c, value, len(rows) - 1, tf1_only, tf2_only, strip)
                first["arrays"] = _save_first(args.out, tf1_value, value)
        if first is not None:
            break           # what follows the first divergence is not needed: stop computing
    if first is None and not index["capped"]:
        first = _output_divergence(pair, index, outputs, by_tensor, run, strip, len(rows), args)
    result = {"weights": args.weights, "prefix": prefix, "tf1_ops": len(entries),
              "aligned": len(aligned), "compared": len(rows), "capped": index["capped"],
              "computed": index["computed"],
              "tf1_only": len(tf1_only), "tf2_only": len(tf2_only),
              "tf1_only_names": tf1_only[:NAMES_SHOWN], "tf2_only_names": tf2_only[:NAMES_SHOWN],
              "first": first, "earliest": earliest, "around": rows[-AROUND:]}
    if first is not None:
        at = first["position"]
        result["around"] = rows[max(0, at - AROUND):at + AROUND + 1]
        result["arrays"] = first.pop("arrays")
        result["shadow"] = first.pop("shadow", None) or _shadow(first, by_tensor, entries, run,
                                                                pair, set(tf2_only), strip)
        result["culprit"] = culprit(first, result["shadow"], earliest,
                                    [x["op"] for x in entries] + tf2_only)
    return result


def _alignment(entries: list, outputs: dict) -> tuple:
    """(TF2 name prefix, [(TF1 entry, TF2 tensor)], TF1-only ops, TF2-only ops) by op name."""
    tf2_tensors = computed_tensors(list(outputs.values()))
    prefix, ops = align([e["op"] for e in entries], [t.op.name for t in tf2_tensors])
    by_name = {t.name: t for t in tf2_tensors}
    aligned, tf1_only = [], []
    for e in entries:
        t = by_name.get(ops.get(e["op"], "\0") + e["tensor"][len(e["op"]):])
        if t is not None and t.dtype.name == e["dtype"]:
            aligned.append((e, t))
        else:
            tf1_only.append(e["op"])
    tf1_ops = {e["op"] for e in entries}
    tf2_only = [op for op in dict.fromkeys(_unprefixed(t.op.name, prefix) for t in tf2_tensors)
                if op not in tf1_ops]
    return prefix, aligned, tf1_only, tf2_only


def _unprefixed(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if prefix and name.startswith(prefix + "/") else name


def _output_divergence(pair: Any, index: dict, outputs: dict, by_tensor: dict, run: _Traced,
                       strip: Callable[[str], str], position: int,
                       args: LocalizeRequest) -> dict | None:
    """Every aligned op agrees: an output TF2 computes past them, through ops TF1 lacks, may
    still differ (`logits + 1e-3` outside any scope)."""
    from tf_equiv.verdict.compare import compare_arrays

    captured = {e["tensor"]: e for e in index["entries"]}
    aligned = {id(t) for _, t in by_tensor.values()}
    for record, name in index["outputs"].items():
        t, e = outputs.get(record), captured.get(name)
        if t is None or e is None or id(t) == id(by_tensor.get(name, (None, None))[1]):
            continue
        tf1_value = np.load(e["file"], allow_pickle=False)
        value, = run.fetch([t])
        c = compare_arrays(record, tf1_value, value, *pair.tolerance_for(record))
        if c:
            continue
        via, stack = {}, [t]
        while stack:        # the TF2 ops between the output and the aligned tensors it reads
            x = stack.pop()
            if id(x) not in aligned and x.op.type not in NOT_COMPUTED and x.op.name not in via:
                via[x.op.name] = x.op
                stack.extend(x.op.inputs)
        order = {op.name: i for i, op in enumerate(t.graph.get_operations())}
        return {"op": strip(t.op.name), "tensor": name, "type": t.op.type, "tf2_type": t.op.type,
                "record": record, "tf1_op": e["op"], "position": position,
                "comparison": asdict(c), "tf1_stats": e["stats"], "tf2_stats": stats(value),
                "tf2_only_inputs": [strip(op) for op in sorted(via, key=order.__getitem__)],
                "arrays": _save_first(args.out, tf1_value, value),
                "shadow": {"status": "tf2_only", "block": "", "op": strip(t.op.name)}}
    return None


def _short(tensor: str) -> str:
    """A tensor's name as its op's, with the output index only when it is not the first."""
    return tensor[:-2] if tensor.endswith(":0") else tensor


def _first(e: dict, t: Any, c: Any, value: np.ndarray, position: int, tf1_only: list,
           tf2_only: list, strip: Callable[[str], str]) -> dict:
    """The first divergent op. Its aligned inputs all agreed (they come before it): what it
    reads that the other side lacks is where the graphs differ."""
    extra = sorted({strip(i.op.name) for i in t.op.inputs} & set(tf2_only))
    lacking = sorted({i.rsplit(":", 1)[0] for i in e["inputs"]} & set(tf1_only))
    return {"op": _short(e["tensor"]), "tensor": e["tensor"], "type": e["type"],
            "tf2_type": t.op.type, "position": position, "comparison": asdict(c),
            "tf1_stats": e["stats"], "tf2_stats": stats(value), "tf2_only_inputs": extra,
            "tf1_only_inputs": lacking}


def _save_first(out: str, tf1_value: np.ndarray, tf2_value: np.ndarray) -> str:
    from tf_equiv.run.records import save_arrays

    return save_arrays(os.path.join(out, "first-divergence.npz"), {"tf1": tf1_value,
                                                                   "tf2": tf2_value})


def _shadow(first: dict, by_tensor: dict, entries: list, run: _Traced, pair: Any,
            tf2_only: set, strip: Callable[[str], str]) -> dict:
    """Re-run the first divergent op's block in TF2 fed with TF1's values of the tensors that
    enter it: still different means the block computes differently; equal means it only
    carried (and amplified) differences that entered it. The same for the op alone."""
    e, _ = by_tensor[first["tensor"]]
    block = block_of(e["op"], [x["op"] for x in entries])
    if first["tf1_stats"]["nonfinite"]:
        return {"block": block, "op": first["op"], "status": "unavailable",
                "reason": f"TF1's own value of {first['op']} is not finite"}
    # The block's ops up to the divergent one: the tensors entering them were all computed
    # (and captured) before it.
    upto = entries[:next(i for i, x in enumerate(entries) if x["tensor"] == e["tensor"]) + 1]
    shadow = _fed_run(block, [x for x in upto if in_block(x["op"], block)], e, by_tensor,
                      entries, run, pair, tf2_only, strip)
    shadow["op_level"] = _fed_run(e["op"], [e], e, by_tensor, entries, run, pair, tf2_only,
                                  strip)
    return shadow


def _fed_run(scope: str, inside: list, e: dict, by_tensor: dict, entries: list, run: _Traced,
             pair: Any, tf2_only: set, strip: Callable[[str], str]) -> dict:
    """TF2's value of `e` with TF1's values fed for every captured tensor entering `inside`."""
    from tf_equiv.verdict.compare import compare_arrays

    base = {"block": scope, "op": _short(e["tensor"])}
    captured = {x["tensor"] for x in entries}
    names = {x["tensor"] for x in inside}
    entering = list(dict.fromkeys(i for x in inside for i in x["inputs"]
                                  if i in captured and i not in names
                                  and not in_block(i.rsplit(":", 1)[0], scope)))
    lacking = [i for i in entering if i not in by_tensor]
    if lacking:
        return {**base, "status": "unavailable",
                "reason": f"{_short(lacking[0])} enters {scope} but TF2 has no tensor of that "
                          "name to feed"}
    # An op only TF2 has between the fed tensors and the block would run on TF1's values too:
    # the block would be blamed for it.
    added = [strip(i.op.name) for x in inside if x["tensor"] in by_tensor
             for i in by_tensor[x["tensor"]][1].op.inputs
             if strip(i.op.name) in tf2_only and not in_block(strip(i.op.name), scope)]
    if added:
        return {**base, "status": "unavailable",
                "reason": f"{added[0]} enters {scope} in TF2 but TF1 has no tensor of that name "
                          "to feed"}
    fed = [(by_tensor[i][1], np.load(by_tensor[i][0]["file"], allow_pickle=False))
           for i in entering]
    try:
        value, = run.fetch([by_tensor[e["tensor"]][1]], fed)
    except Exception as exc:  # a fed value TF2 cannot take (another shape, say): say so
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return {**base, "status": "unavailable",
                "reason": f"feeding TF1's values into {scope} failed: {first_line}"}
    c = compare_arrays(e["op"], np.load(e["file"], allow_pickle=False), value,
                       *pair.tolerance_for(e["op"]))
    return {**base, "status": "matches" if c else "differs", "comparison": asdict(c),
            "fed": [_short(i) for i in entering]}

