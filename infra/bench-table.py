#!/usr/bin/env python3
"""Prints infra/bench's results (target/bench/results.txt) as one table with targets.

Each input line is `section [name] key=value ...` as the hubctl bench commands and the
aws_calls test print them."""
import sys

MIB = 1024 * 1024


def parse(line):
    line, _, ops = line.partition(" ops: ")
    words = line.split()
    fields = {"_section": words[0], "_ops": ops.strip()}
    rest = []
    for w in words[1:]:
        if "=" in w:
            k, _, v = w.partition("=")
            fields[k.rstrip("<")] = v
        else:
            rest.append(w)
    fields["_name"] = " ".join(rest)
    return fields


def verdict(ok):
    return "ok" if ok else "MISSED"


def main(path):
    rows = [parse(l) for l in open(path) if l.strip()]
    by = lambda s: [r for r in rows if r["_section"] == s]
    print()
    for r in by("build"):
        for k, v in r.items():
            if not k.startswith("_"):
                print(f"build: {k} = {v}")
    init = by("init")
    print("\n1-2. release artifacts and cold init (local runtime API, median of runs; ratio = answer / hello-world's)")
    print(f"{'function':28} {'kind':10} {'bootstrap':>10} {'init ms':>8} {'answer ms':>9} {'ratio':>6}  size<=8MiB ratio<=1.3")
    for r in init:
        size = int(r["size_bytes"]) / MIB
        ratio = float(r["ratio"])
        fail = f" ({r['failures']} failed runs)" if r["failures"] != "0" else ""
        print(f"{r['_name']:28} {r['kind']:10} {size:8.2f}Mi {float(r['init_ms']):8.2f} {float(r['answer_ms']):9.2f} "
              f"{ratio:6.2f}  {verdict(size <= 8):10} {verdict(ratio <= 1.3)}{fail}")
    print("\n3. CPU per request without I/O (release build; ns per body, median of 15 rounds)")
    for r in by("cpu"):
        ratio = float(r["ratio"])
        print(f"{r['_name']:10} bodies={r['bodies']:>4} mean {r['mean_bytes']:>4} B  serde_json {r['serde_ns']:>7} ns  "
              f"hub {r['hub_ns']:>7} ns  ratio {ratio:5.2f}  (<=2: {verdict(ratio <= 2)})")
    print("\n4. AWS calls for one claim's life (bullet loan, 3 investors; SDK interceptor on the hub's clients)")
    for r in by("calls"):
        if "stage" in r:
            continue
        print("  " + r["_name"] + " " + " ".join(f"{k}={v}" for k, v in r.items() if not k.startswith("_")))
    print(f"  {'stage':22} {'ddb req':>7} {'writes':>6} {'nonce':>5} {'state':>5} {'tx':>3} {'sqs send':>8} "
          f"{'recv':>4} {'del':>4} {'lambda':>6} {'api':>4}  operations")
    for r in by("calls"):
        if "stage" not in r:
            continue
        print(f"  {r['stage']:22} {r['dynamo_requests']:>7} {r['dynamo_writes']:>6} {r['nonce_writes']:>5} "
              f"{r['state_writes']:>5} {r['transactions']:>3} {r['sqs_sends']:>8} {r['sqs_receives']:>4} "
              f"{r['sqs_deletes']:>4} {r['lambda_invocations']:>6} {r['api_requests']:>4}  {r['_ops']}")
    for r in by("cost"):
        total = float(r["total"])
        print(f"  cost per 1,000 loans (US$, us-east-1 list prices): DynamoDB {r['dynamodb']}, SQS {r['sqs']}, "
              f"Lambda {r['lambda']}, HTTP API {r['http_api']}; total {r['total']}  (<1: {verdict(total < 1)})")
    print("\n5. local throughput through interface 1 (cargo lambda watch, debug build, moto)")
    for r in by("throughput"):
        print("  " + (r["_name"] + " " if r["_name"] else "") + " ".join(f"{k}={v}" for k, v in r.items() if not k.startswith("_")))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/bench/results.txt")
