"""Reader of Feature Relay's FeatureWeights envelope (v1), standard library and NumPy only.

Format (docs/envelope/README.md; the header's JSON Schema is docs/envelope/feature-weights-header.schema.json):
magic ``FRW1``, a u32 big-endian header length, the UTF-8 JSON header, then every parameter array as
float32 little-endian, C order, in the header's order. Convolution weights are OIHW, dense weights [in, out].

The checks and their order follow the Java codec (learning-core, ``FeatureWeightsCodec``), and a rejected
envelope raises :class:`EnvelopeError` whose ``reason`` is the same stable code the Java side uses
(``truncated``, ``oversized``, ``bad-magic``, ``unsupported-version``, ``malformed-header``,
``checksum-mismatch``, ``architecture-mismatch``, ``missing-signature``, ``bad-signature``). Every length is
checked against the input and the limits before anything is allocated.

    with open("base.frw", "rb") as f:
        envelope = read_envelope(f.read())
    envelope.arrays["conv1"]["W"]      # numpy.float32 array [out, in, k, k]
"""

import base64
import hashlib
import hmac
import json
import re
import struct
from dataclasses import dataclass
from datetime import datetime

import numpy as np

MAGIC = b"FRW1"
PREFIX = 8
SCHEMA_VERSION = 1
SCHEMA_NAME = "featurerelay.FeatureWeights.v1"
MAX_ENVELOPE_BYTES = 10 << 20
MAX_HEADER_BYTES = 1 << 20
_MODEL_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_INT_MAX = 2**31 - 1


class EnvelopeError(ValueError):
    """An envelope that must not be used; ``reason`` is the Java codec's stable code."""

    def __init__(self, reason, message):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    header: dict
    arrays: dict  # layer -> key -> numpy.ndarray (float32, the header's shape)

    @property
    def spec(self):
        return self.header["spec"]

    def feature_arrays(self):
        return {layer: self.arrays[layer] for layer in self.header["featureLayers"]}


def parameter_shapes(spec):
    """Every parameter array's shape as ModelSpec.parameterShapes() builds it: layer -> key -> [dims]."""
    channels, height, width = spec["inputShape"]
    kernel, pool = spec["kernel"], spec["pool"]
    shapes = {}
    inputs = channels
    for i, filters in enumerate(spec["convFilters"]):
        shapes[f"conv{i + 1}"] = {"W": [filters, inputs, kernel, kernel], "b": [filters]}
        inputs = filters
        height -= kernel - 1
        width -= kernel - 1
    features = spec["convFilters"][-1] * (height // pool) * (width // pool)
    shapes["dense"] = {"W": [features, spec["denseUnits"]], "b": [spec["denseUnits"]]}
    shapes["output"] = {"W": [spec["denseUnits"], spec["numClasses"]], "b": [spec["numClasses"]]}
    return shapes


def _malformed(message):
    return EnvelopeError("malformed-header", message)


def _require(ok, problem):
    if not ok:
        raise _malformed("header: " + problem)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _elements(shape):
    n = 1
    for d in shape:
        if not _is_int(d) or d <= 0:
            return -1
        n *= d
        if n > _INT_MAX:
            return -1
    return n


def _check_spec(spec):
    try:
        shape = spec["inputShape"]
        convs = spec["convFilters"]
        _require(isinstance(shape, list) and len(shape) == 3 and all(_is_int(v) for v in shape), "spec.inputShape")
        _require(shape[0] in (1, 3) and 1 <= shape[1] <= 4096 and 1 <= shape[2] <= 4096, "spec.inputShape range")
        _require(isinstance(convs, list) and 1 <= len(convs) <= 8
                 and all(_is_int(f) and 1 <= f <= 1024 for f in convs), "spec.convFilters")
        for key, low, high in (("kernel", 1, 11), ("pool", 1, 8), ("denseUnits", 1, 65536), ("numClasses", 2, 1000)):
            _require(_is_int(spec[key]) and low <= spec[key] <= high, "spec." + key)
        for key in ("convDropout", "denseDropout"):
            _require(isinstance(spec[key], (int, float)) and 0 <= spec[key] < 1, "spec." + key)
        side = min(shape[1], shape[2]) - len(convs) * (spec["kernel"] - 1)
        _require(side >= spec["pool"], "spec: the input is too small for its convolutions and pooling")
    except (KeyError, TypeError) as e:
        raise _malformed(f"header: spec lacks or mistypes {e}") from None


def _parse_header(data, length):
    try:
        header = json.loads(data[PREFIX:PREFIX + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _malformed(f"header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise _malformed("header is not a JSON object")
    version = header.get("schemaVersion")
    if not _is_int(version):
        raise _malformed("header has no integer schemaVersion")
    if version != SCHEMA_VERSION:
        raise EnvelopeError("unsupported-version",
                            f"schema version {version} is not supported; this reader knows version {SCHEMA_VERSION}")
    model_id = header.get("baseModelId")
    _require(isinstance(model_id, str) and _MODEL_ID.fullmatch(model_id), "baseModelId must match " + _MODEL_ID.pattern)
    _require(isinstance(header.get("spec"), dict), "spec is missing")
    _check_spec(header["spec"])
    _require(isinstance(header.get("arrays"), list) and header["arrays"], "arrays are missing")
    _require(isinstance(header.get("featureLayers"), list) and isinstance(header.get("headLayers"), list),
             "featureLayers/headLayers are missing")
    _require(isinstance(header.get("dataset"), dict), "dataset is missing")
    sha = header.get("payloadSha256")
    _require(isinstance(sha, str) and _SHA256_HEX.fullmatch(sha), "payloadSha256 must be 64 lower-case hex digits")
    _require(_is_int(header.get("payloadLength")) and header["payloadLength"] >= 0,
             "payloadLength must not be negative")
    try:
        datetime.fromisoformat(str(header.get("createdAt")).replace("Z", "+00:00"))
    except ValueError:
        raise _malformed(f"createdAt is no ISO-8601 instant: {header.get('createdAt')}") from None
    return header


def _check_arrays(header):
    expected_offset = 0
    for entry in header["arrays"]:
        _require(isinstance(entry, dict) and isinstance(entry.get("layer"), str) and isinstance(entry.get("key"), str)
                 and isinstance(entry.get("shape"), list), "an array entry lacks layer, key or shape")
        name = f"{entry['layer']}.{entry['key']}"
        _require(entry.get("dtype") == "float32", f"{name} has dtype {entry.get('dtype')}, only float32 is defined")
        elements = _elements(entry["shape"])
        _require(elements > 0, f"{name} has an invalid shape {entry['shape']}")
        _require(entry.get("offset") == expected_offset,
                 f"{name} starts at {entry.get('offset')}, expected {expected_offset}")
        expected_offset += elements * 4
        _require(expected_offset <= header["payloadLength"],
                 f"{name} ends at {expected_offset}, past the payload's {header['payloadLength']} bytes")
    _require(expected_offset == header["payloadLength"],
             f"arrays cover {expected_offset} bytes, payloadLength is {header['payloadLength']}")
    actual = {}
    for entry in header["arrays"]:
        actual.setdefault(entry["layer"], {})[entry["key"]] = entry["shape"]
    expected = parameter_shapes(header["spec"])
    if actual != expected:
        raise EnvelopeError("architecture-mismatch",
                            f"the arrays {actual} are not the parameters of the spec, which needs {expected}")
    features = [f"conv{i + 1}" for i in range(len(header["spec"]["convFilters"]))]
    if header["featureLayers"] != features:
        raise EnvelopeError("architecture-mismatch",
                            f"featureLayers {header['featureLayers']} differ from the spec's {features}")


def read_envelope(data, max_envelope_bytes=MAX_ENVELOPE_BYTES, max_header_bytes=MAX_HEADER_BYTES):
    """Decodes and verifies structure, sizes, checksum and architecture (not the signature: see verify_signature).

    :raises EnvelopeError: naming the first problem found, in the Java codec's order
    """
    data = bytes(data)
    if len(data) < PREFIX:
        raise EnvelopeError("truncated", f"envelope has {len(data)} bytes, fewer than the {PREFIX}-byte prefix")
    if len(data) > max_envelope_bytes:
        raise EnvelopeError("oversized", f"envelope has {len(data)} bytes, more than the maximum {max_envelope_bytes}")
    if data[:4] != MAGIC:
        raise EnvelopeError("bad-magic", f"envelope starts with 0x{data[:4].hex()}, not FRW1")
    (header_length,) = struct.unpack(">I", data[4:8])
    if header_length > max_header_bytes:
        raise EnvelopeError("oversized", f"header length {header_length} exceeds the maximum {max_header_bytes}")
    if PREFIX + header_length > len(data):
        raise EnvelopeError("truncated",
                            f"header length {header_length} runs past the end of the {len(data)}-byte envelope")
    header = _parse_header(data, header_length)
    payload_start = PREFIX + header_length
    actual_payload = len(data) - payload_start
    if header["payloadLength"] > max_envelope_bytes:
        raise EnvelopeError("oversized",
                            f"payload length {header['payloadLength']} exceeds the maximum {max_envelope_bytes}")
    if actual_payload < header["payloadLength"]:
        raise EnvelopeError("truncated",
                            f"payload has {actual_payload} bytes, the header promises {header['payloadLength']}")
    if actual_payload > header["payloadLength"]:
        raise _malformed(f"payload has {actual_payload - header['payloadLength']} bytes more than the header's "
                         f"payloadLength {header['payloadLength']}")
    _check_arrays(header)
    payload = memoryview(data)[payload_start:]
    sha = hashlib.sha256(payload).hexdigest()
    if sha != header["payloadSha256"]:
        raise EnvelopeError("checksum-mismatch", f"payload SHA-256 is {sha}, the header says {header['payloadSha256']}")
    arrays = {}
    for entry in header["arrays"]:
        count = _elements(entry["shape"])
        values = np.frombuffer(payload, dtype="<f4", count=count, offset=entry["offset"])
        arrays.setdefault(entry["layer"], {})[entry["key"]] = values.astype(np.float32).reshape(entry["shape"])
    return Envelope(header, arrays)


def sign(envelope, key):
    """Base64 HMAC-SHA256 of the whole envelope (what the Kafka header featurerelay-signature carries)."""
    return base64.b64encode(hmac.new(key, bytes(envelope), hashlib.sha256).digest()).decode("ascii")


def verify_signature(envelope, signature, keys):
    """Accepts a signature made with any of ``keys`` (bytes, or a list of them during a key rotation).

    :raises EnvelopeError: ``missing-signature`` or ``bad-signature``
    """
    keys = [keys] if isinstance(keys, (bytes, bytearray)) else list(keys)
    if not keys:
        raise ValueError("no signing key to verify with")
    if signature is None or not signature.strip():
        raise EnvelopeError("missing-signature", "a signing key is configured but the record is not signed")
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except ValueError:
        raise EnvelopeError("bad-signature", "the signature is not base64") from None
    valid = False
    for key in keys:
        # every key is tried, so that the time taken does not tell which one matched
        valid |= hmac.compare_digest(given, hmac.new(bytes(key), bytes(envelope), hashlib.sha256).digest())
    if not valid:
        raise EnvelopeError("bad-signature", "the HMAC-SHA256 signature does not match the envelope")
