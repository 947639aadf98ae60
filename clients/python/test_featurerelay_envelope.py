"""The Python reader against the committed test vectors (docs/envelope/vectors), which the Java codec's tests
check too: the valid envelope decodes bit for bit and conforms to the header's JSON Schema, and every corrupt
one is rejected with the reason the manifest names. Run: python3 -m unittest discover -s clients/python
(learning-core's PythonEnvelopeReaderTest runs it from Maven)."""

import json
import re
import struct
import unittest
from pathlib import Path

import numpy as np

import featurerelay_envelope as fre

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "docs" / "envelope" / "vectors"
SCHEMA = ROOT / "docs" / "envelope" / "feature-weights-header.schema.json"


def conforms(value, schema, defs, path="$"):
    """The subset of JSON Schema 2020-12 the header's schema uses; returns the problems found."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].split("/")[-1]]
    problems = []
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "number": (int, float), "integer": int}
    if kind and (not isinstance(value, types[kind]) or isinstance(value, bool)):
        return [f"{path}: not a {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{path}: below {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        problems.append(f"{path}: above {schema['maximum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        problems.append(f"{path}: not below {schema['exclusiveMaximum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{path}: does not match {schema['pattern']}")
    if kind == "object":
        problems += [f"{path}: lacks {name}" for name in schema.get("required", []) if name not in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += conforms(value[name], sub, defs, f"{path}.{name}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{path}: {len(value)} items")
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if sub:
                problems += conforms(item, sub, defs, f"{path}[{i}]")
    return problems


class VectorsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.manifest = json.loads((VECTORS / "vectors.json").read_text())
        cls.schema = json.loads(SCHEMA.read_text())
        cls.key = bytes.fromhex(cls.manifest["signingKeyHex"])

    def read(self, entry):
        data = (VECTORS / entry["file"]).read_bytes()
        envelope = fre.read_envelope(data, entry.get("maxEnvelopeBytes", self.manifest["maxEnvelopeBytes"]),
                                     self.manifest["maxHeaderBytes"])
        if "signature" in entry:
            fre.verify_signature(data, entry["signature"], self.key)
        return envelope

    def test_every_vector_is_read_as_the_manifest_says(self):
        self.assertGreaterEqual(len(self.manifest["vectors"]), 10)
        for entry in self.manifest["vectors"]:
            with self.subTest(entry["file"], description=entry["description"]):
                if entry["expect"] == "valid":
                    self.read(entry)
                else:
                    with self.assertRaises(fre.EnvelopeError) as caught:
                        self.read(entry)
                    self.assertEqual(caught.exception.reason, entry["expect"], str(caught.exception))

    def test_the_valid_envelope_decodes_bit_for_bit(self):
        envelope = self.read({"file": "valid.frw"})
        expected = self.manifest["validParametersFloat32Bits"]
        self.assertEqual(sorted(f"{l}.{k}" for l in envelope.arrays for k in envelope.arrays[l]), sorted(expected))
        for name, bits in expected.items():
            layer, key = name.split(".")
            array = envelope.arrays[layer][key]
            self.assertEqual(array.dtype, np.float32)
            self.assertEqual(list(array.shape), fre.parameter_shapes(envelope.spec)[layer][key])
            self.assertEqual(array.reshape(-1).view(np.uint32).tolist(), bits, name)
        self.assertEqual(list(envelope.feature_arrays()), ["conv1"])
        self.assertEqual(envelope.spec["inputShape"], [1, 6, 5])

    def test_the_valid_header_conforms_to_the_published_schema(self):
        data = (VECTORS / "valid.frw").read_bytes()
        (length,) = struct.unpack(">I", data[4:8])
        header = json.loads(data[8:8 + length])
        self.assertEqual(conforms(header, self.schema, self.schema["$defs"]), [])
        # and the schema is no empty promise: a header off the schema is caught
        broken = dict(header, schemaVersion="1", payloadSha256="ABC")
        del broken["arrays"]
        self.assertEqual(len(conforms(broken, self.schema, self.schema["$defs"])), 3)

    def test_a_signature_made_here_is_the_one_java_made(self):
        data = (VECTORS / "valid.frw").read_bytes()
        signed = next(e for e in self.manifest["vectors"] if e["expect"] == "valid" and "signature" in e)
        self.assertEqual(fre.sign(data, self.key), signed["signature"])
        fre.verify_signature(data, signed["signature"], [b"old key", self.key])

    def test_lengths_are_checked_before_anything_is_allocated(self):
        # a header length of 4 GiB - 1 on an 8-byte input: refused from the prefix alone
        with self.assertRaises(fre.EnvelopeError) as caught:
            fre.read_envelope(b"FRW1\xff\xff\xff\xff")
        self.assertEqual(caught.exception.reason, "oversized")


if __name__ == "__main__":
    unittest.main()
