"""Checks ONNX files with onnx.checker.check_model(full_check=True).

Usage: /usr/bin/python3 check_models.py FILE...

Prints one JSON object: {file: "" when the model passes, else the error}.
The onnx package's tests run it (Debian's python3-onnx).
"""
import json
import sys

import onnx

results = {}
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        results[path] = ""
    except Exception as e:  # every failure is reported, not raised
        results[path] = "%s: %s" % (type(e).__name__, " ".join(str(e).split()))
print(json.dumps(results))
