"""read_safetensors.py FILE: reads a jx checkpoint with Python's safetensors (numpy) and
with plain numpy from the format's bytes, and prints one line per tensor,
"name dtype shape sum", then the metadata, for tests/nn/test_checkpoint_python.c.
Exits 77 when safetensors is not installed."""
import json, struct, sys
try:
    import numpy as np
    from safetensors.numpy import load_file
    from safetensors import safe_open
except ImportError:
    sys.exit(77)

path = sys.argv[1]
tensors = load_file(path)
with open(path, "rb") as f:  # the same with numpy alone, from the format's definition
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
kinds = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U32": "<u4", "U8": "u1", "BOOL": "?"}
for name in sorted(tensors):
    t = tensors[name]
    e = header[name]
    raw = np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], kinds[e["dtype"]]).reshape(e["shape"])
    assert np.array_equal(raw, t), name
    print(name, t.dtype, list(t.shape), repr(float(np.asarray(t, np.float64).sum())))
with safe_open(path, framework="np") as f:
    m = f.metadata()
print("meta", m["step"], m["epoch"], m["prng_key"])
