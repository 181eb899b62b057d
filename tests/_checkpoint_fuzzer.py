"""Checkpoint fuzzer, run by test_checkpoint_fuzz.py in a child process (a crash there fails one
test instead of killing pytest): `python _checkpoint_fuzzer.py VARIANT`, where VARIANT is
`{vae,gan}-{mlp,conv,unfitted}[-labels]`.

It writes one checkpoint with `to_bytes()`, mutates it in many ways (metadata removed or set to
garbage, fields inside the JSON metadata changed, tensors removed, added, reshaped or retyped,
bytes truncated or flipped), loads each with `genaug.from_bytes` and, if that works, samples two
rows. Each mutation must load (and then sample or raise a GenaugError) or raise CheckpointError;
the targeted ones must raise CheckpointError. Prints a JSON summary on its last line."""

from __future__ import annotations

import json
import os
import struct
import sys
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
import genaug  # noqa: E402

GARBAGE = ["", "null", "[]", "{}", "-1", "1e309", '"x"', str(2**64), '{"a": [[[{}]]]}', "[" * 5000]
INNER = [None, 2**40, 2**62, 2**64, -1, -(2**63), 0, 0.5, 1e308, "x", [], {}, True]
INNER += [[0], [-1], [2**40], [2**62, 2**62], [2**31, 2**31, 2**31]]
NESTED = [None, -1, 2**64, 1e308, "x", []]
BYTES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I32": 4, "I64": 8, "U8": 1}


def checkpoint(variant: str) -> bytes:
    kind, arch, *rest = variant.split("-")
    cls = genaug.VAE if kind == "vae" else genaug.GAN
    model = cls(latent_dim=2, hidden=(16,), device="cpu", seed=0)
    if arch == "unfitted":
        return model.to_bytes()
    rng = np.random.default_rng(0)
    if arch == "mlp":
        centres = np.array([[0.0] * 5, [5.0] * 5, [-5.0, 5.0, -5.0, 5.0, -5.0]])
        y = np.repeat([0, 1, 2], [40, 20, 10])
        x = centres[y] + rng.normal(scale=0.5, size=(len(y), 5))
    else:
        x = rng.integers(0, 256, (64, 1, 16, 16), dtype=np.uint8)
        y = np.repeat([0, 1], 32)
    labels = y if rest == ["labels"] else None
    model.fit(x, labels, epochs=2, batch_size=32, validation=0.25, progress=False)
    return model.to_bytes()


def split(blob: bytes) -> tuple[dict, dict[str, tuple[str, list[int], bytes]]]:
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    metadata = header.pop("__metadata__")
    tensors = {
        name: (t["dtype"], t["shape"], data[t["data_offsets"][0] : t["data_offsets"][1]])
        for name, t in header.items()
    }
    return metadata, tensors


def join(metadata: dict, tensors: dict, offsets: dict | None = None) -> bytes:
    """A safetensors file; `offsets` overrides the data offsets of some tensors."""
    header: dict = {"__metadata__": metadata}
    data = bytearray()
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    for name, value in (offsets or {}).items():
        header[name]["data_offsets"] = value
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def with_metadata(metadata: dict, key: str, value: str | None) -> dict:
    changed = dict(metadata)
    if value is None:
        del changed[key]
    else:
        changed[key] = value
    return changed


def outcome(blob: bytes) -> str:
    try:
        model = genaug.from_bytes(blob)
    except genaug.CheckpointError:
        return "CheckpointError"
    except BaseException as e:  # anything else is a bug, a PanicException included
        return f"BAD from_bytes: {type(e).__name__}: {e}"[:300]
    try:
        classes = model.classes_
        if not model.is_fitted:
            return "loaded unfitted"
        out = model.sample(2, y=classes[0]) if classes else model.sample(2)
        if not isinstance(out, np.ndarray) or len(out) != 2:
            return f"BAD sample gave {type(out).__name__} of length {len(out)}"
    except genaug.GenaugError as e:
        return f"loaded, sample raised {type(e).__name__}"
    except BaseException as e:
        return f"BAD sample: {type(e).__name__}: {e}"[:300]
    return "loaded"


def mutations(blob: bytes, variant: str):
    """Yields (label, mutated bytes, whether it must be a CheckpointError)."""
    metadata, tensors = split(blob)
    yield "control", join(metadata, tensors), False
    for key in metadata:
        # Files saved before class_counts was stored lack it and load.
        must_fail = key != "class_counts"
        yield f"remove metadata {key}", join(with_metadata(metadata, key, None), tensors), must_fail
        for value in GARBAGE:
            yield (
                f"metadata {key} = {value[:20]!r}",
                join(with_metadata(metadata, key, value), tensors),
                False,
            )
    # Version 1 files kept min-max bounds as scaler.* tensors, which later files lack; a fitted
    # MLP GAN of version 1 or 2 had a narrower discriminator. A VAE of versions 1-3 may lack
    # the latent prior, but one that has it loads.
    fitted = "spec" in metadata
    mlp_gan = fitted and metadata["model"] == "GAN" and metadata["image"] == "null"
    for value in ["1", "2", "3", "5", "0", "", "3.0", "10"]:
        must_raise = (
            value not in ("1", "2", "3") or (value == "1" and fitted) or (mlp_gan and value != "3")
        )
        yield (
            f"version {value!r}",
            join(with_metadata(metadata, "version", value), tensors),
            must_raise,
        )
    for value in ["genaug2", "", "safetensors"]:
        yield f"format {value!r}", join(with_metadata(metadata, "format", value), tensors), True
    other = "GAN" if metadata["model"] == "VAE" else "VAE"
    for value in [other, "Foo", metadata["model"].lower()]:
        yield f"model {value!r}", join(with_metadata(metadata, "model", value), tensors), True
    # Fields inside the JSON objects.
    for key in ("config", "spec", "run", "image", "schema"):
        try:
            obj = json.loads(metadata.get(key, "null"))
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        for field in list(obj)[:10]:
            for value in ["remove", *INNER]:
                changed = dict(obj)
                if value == "remove":
                    del changed[field]
                else:
                    changed[field] = value
                text = json.dumps(changed)
                yield (
                    f"{key}.{field} = {value!r}",
                    join(with_metadata(metadata, key, text), tensors),
                    False,
                )
            if isinstance(obj[field], dict):  # one level deeper: held_out, scalars
                for inner in list(obj[field])[:6]:
                    for value in NESTED:
                        changed = {**obj, field: {**obj[field], inner: value}}
                        text = json.dumps(changed)
                        label = f"{key}.{field}.{inner} = {value!r}"
                        yield label, join(with_metadata(metadata, key, text), tensors), False
    config = json.loads(metadata["config"])
    targets = {}
    if "spec" in metadata:  # an unfitted model builds no network when it loads
        targets["latent_dim"] = 2**62
    if "-mlp" in variant:  # conv nets have no hidden widths
        targets["hidden"] = [2**40]
    for field, value in targets.items():
        text = json.dumps({**config, field: value})
        yield (
            f"config.{field} = {value}",
            join(with_metadata(metadata, "config", text), tensors),
            True,
        )
    if "schema" in metadata:
        schema = json.loads(metadata["schema"])
        for label, columns in [
            ("no columns", []),
            ("a column short", schema["columns"][:-1]),
            ("a column over", schema["columns"] + schema["columns"][:1]),
            (
                "unordered bounds",
                [{**schema["columns"][0], "low": 2.0, "high": 1.0}] + schema["columns"][1:],
            ),
        ]:
            text = json.dumps({**schema, "columns": columns})
            yield f"schema {label}", join(with_metadata(metadata, "schema", text), tensors), True
    if "spec" in metadata:
        yield "image [1,1,1]", join(with_metadata(metadata, "image", "[1,1,1]"), tensors), True
        yield (
            "image {1,1,1}",
            join(with_metadata(metadata, "image", '{"channels":1,"height":1,"width":1}'), tensors),
            True,
        )
    # Tensors removed, added, reshaped, retyped. Every tensor is removed and reshaped; the
    # first and last of each group (net., optim., best., last., scaler.) are also retyped.
    groups: dict[str, list[str]] = {}
    for name in tensors:
        groups.setdefault(name.split(".")[0], []).append(name)
    some = {name for names in groups.values() for name in (names[0], names[-1])}
    for name, (dtype, shape, raw) in tensors.items():
        rest = {k: v for k, v in tensors.items() if k != name}
        yield f"remove tensor {name}", join(metadata, rest), True
        numel = int(np.prod(shape))
        same_size = [numel] if len(shape) > 1 else [1, numel]
        yield (
            f"reshape {name} to {same_size}",
            join(metadata, {**tensors, name: (dtype, same_size, raw)}),
            True,
        )
        if name not in some:
            continue
        yield (
            f"grow {name}",
            join(metadata, {**tensors, name: (dtype, [numel + 1], raw + raw[:4])}),
            True,
        )
        for new_dtype, size in BYTES.items():
            if new_dtype == dtype:
                continue
            # Offsets kept (inconsistent) and data resized to match (consistent).
            yield (
                f"{name} as {new_dtype} (offsets kept)",
                join(metadata, {**tensors, name: (new_dtype, shape, raw)}),
                True,
            )
            consistent = raw[: numel * size].ljust(numel * size, b"\0")
            yield (
                f"{name} as {new_dtype}",
                join(metadata, {**tensors, name: (new_dtype, shape, consistent)}),
                True,
            )
        yield f"{name} offsets past the end", join(metadata, tensors, {name: [0, 10**12]}), True
    if tensors:
        first = next(iter(tensors))
        for extra in ("net.extra", "zzz", f"{first}.copy"):
            yield (
                f"extra tensor {extra}",
                join(metadata, {**tensors, extra: ("F32", [1], b"\0\0\x80?")}),
                True,
            )
    # Raw bytes: truncations, flips, header length.
    rng = np.random.default_rng(0)
    (header_len,) = struct.unpack("<Q", blob[:8])
    cuts = {0, 1, 7, 8, 9, 8 + header_len - 1, 8 + header_len, len(blob) - 1}
    cuts |= set(rng.integers(0, len(blob), 40).tolist())
    for cut in sorted(c for c in cuts if 0 <= c < len(blob)):
        yield f"truncate at {cut}", blob[:cut], True
    for i in range(300):
        mutated = bytearray(blob)
        end = 8 + header_len if i % 2 == 0 else len(blob)  # half in the header
        for position in rng.integers(0, end, 1 + i % 4):
            mutated[position] ^= 1 << int(rng.integers(0, 8))
        yield f"flip #{i}", bytes(mutated), False
    for value in (0, header_len + 1, header_len - 1, len(blob), 2**63, 2**64 - 1):
        yield f"header length {value}", struct.pack("<Q", value) + blob[8:], True


def main() -> None:
    variant = sys.argv[1]
    blob = checkpoint(variant)
    counts: Counter[str] = Counter()
    bad, misses, control = [], {}, None
    for label, mutated, targeted in mutations(blob, variant):
        result = outcome(mutated)
        counts[result.split(":")[0]] += 1
        if label == "control":
            control = result
        elif result.startswith("BAD"):
            bad.append(f"{label}: {result}")
        elif targeted and result != "CheckpointError":
            misses[label] = result
    summary = dict(variant=variant, control=control, counts=counts, bad=bad, misses=misses)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
