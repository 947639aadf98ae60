#!/usr/bin/env python3
"""Writes the OpenAPI schema of each custom resource the manifests use, taken from its operator's CRD at a
released tag, as one compact JSON file per kind (GROUP_KIND_VERSION.json) beside this script.

usage: extract.py NAME=GIT_DIR:TAG ...   (NAME: strimzi, cloudnative-pg, keda, prometheus-operator)
with GIT_DIR a clone of the operator's public repository. CRDS below lists which files each one gives.
"""
import json
import os
import subprocess
import sys

import yaml

CRDS = {
    "strimzi": ["packaging/install/cluster-operator/040-Crd-kafka.yaml",
                "packaging/install/cluster-operator/043-Crd-kafkatopic.yaml",
                "packaging/install/cluster-operator/044-Crd-kafkauser.yaml",
                "packaging/install/cluster-operator/045-Crd-kafkanodepool.yaml"],
    "cloudnative-pg": ["config/crd/bases/postgresql.cnpg.io_clusters.yaml",
                       "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml"],
    "keda": ["config/crd/bases/keda.sh_scaledobjects.yaml",
             "config/crd/bases/keda.sh_triggerauthentications.yaml"],
    "prometheus-operator": ["example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
                            "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"],
}


def strip_descriptions(node):
    """Descriptions are most of a CRD's bytes and no part of validation."""
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for arg in sys.argv[1:]:
        name, source = arg.split("=", 1)
        git_dir, tag = source.rsplit(":", 1)
        for path in CRDS[name]:
            text = subprocess.run(["git", "--git-dir", git_dir, "show", "%s:%s" % (tag, path)], check=True,
                                  capture_output=True, text=True).stdout
            crd = yaml.safe_load(text)
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                schema = strip_descriptions(version["schema"]["openAPIV3Schema"])
                schema["x-source"] = "%s %s %s" % (name, tag, path)
                out = os.path.join(here, "%s_%s_%s.json" % (group, kind, version["name"]))
                with open(out, "w") as f:
                    json.dump(schema, f, separators=(",", ":"), sort_keys=True)
                    f.write("\n")
                print(out, os.path.getsize(out))


if __name__ == "__main__":
    main()
