#!/usr/bin/python3
"""Dump a glia (SONATA) output file with h5py, in a line format the C++ tests parse.

Usage: read_back.py FILE

Proves that h5py, with nothing but a plain h5py.File(path, "r"), reads what glia wrote
(also after the writer was killed). Floats are printed with repr(), which round-trips exactly.

    magic <uint32>
    version <a> <b>
    spikes <population> sorting=<name> timestamps=<dtype> node_ids=<dtype> units=<units> n=<count>
    <timestamp> <node_id>                     (n lines)
    report <population> data=<dtype> frames=<F> nodes=<N> units=<u> variable=<v>
    time <t_start> <t_stop> <dt> units=<u>
    node_ids <id> ...
    index_pointers <p> ...
    element_ids <e> ...
    frame <v> <v> ...                         (F lines)
    run status=<status>
"""
import sys

import h5py


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def enum_name(attr_value, dtype):
    mapping = h5py.check_enum_dtype(dtype)
    if mapping is None:
        return text(attr_value)  # BMTK writes a string
    names = {v: k for k, v in mapping.items()}
    return names[int(attr_value)]


def main(path):
    with h5py.File(path, "r") as f:
        print("magic", int(f.attrs["magic"]))
        print("version", *[int(v) for v in f.attrs["version"]])
        for pop, group in f.get("spikes", {}).items():
            ts, ids = group["timestamps"], group["node_ids"]
            sorting = enum_name(group.attrs["sorting"], group.attrs.get_id("sorting").dtype)
            print(f"spikes {pop} sorting={sorting} timestamps={ts.dtype} node_ids={ids.dtype} "
                  f"units={text(ts.attrs['units'])} n={len(ts)}")
            for t, i in zip(ts[:], ids[:]):
                print(repr(float(t)), int(i))
        for pop, group in f.get("report", {}).items():
            data, mapping = group["data"], group["mapping"]
            print(f"report {pop} data={data.dtype} frames={data.shape[0]} nodes={data.shape[1]} "
                  f"units={text(data.attrs['units'])} variable={text(data.attrs['variable'])}")
            time = mapping["time"]
            print("time", *[repr(float(t)) for t in time[:]], f"units={text(time.attrs['units'])}")
            print("node_ids", *[int(i) for i in mapping["node_ids"][:]])
            print("index_pointers", *[int(i) for i in mapping["index_pointers"][:]])
            print("element_ids", *[int(i) for i in mapping["element_ids"][:]])
            for row in data[:]:
                print("frame", *[repr(float(v)) for v in row])
        if "run" in f:
            print(f"run status={text(f['run'].attrs['status'])}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
