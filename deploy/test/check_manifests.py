#!/usr/bin/env python3
"""Checks rendered Kubernetes manifests of cofre's deployment.

Three checks, each failure prefixed with its check id so tests (and people)
can tell them apart:

  schema/...      every object validates against the Kubernetes OpenAPI
                  schemas bundled in the PyPI package kubernetes-validate
                  (strict: unknown fields are errors). Nothing is fetched.
  security/...    every pod meets Pod Security "restricted" and cofre's own
                  rules (no service account token, resources, probes on the
                  servers, secret files in memory), except the documented
                  exceptions of the SIMULATION node agent's socket.
  network/...     every pod is selected by a NetworkPolicy that admits only
                  its ports (the agent: no traffic at all).

What it does NOT check: that the pods run (no cluster here), that the
images exist, or policy engines' (Kyverno, Gatekeeper) own rule sets.

Usage: check_manifests.py --variant sim|sevsnp|tdx|sgx [--kube-version V] FILE...
Exit 0 when every check passes, 1 with every failure listed, 2 on usage.
"""

import argparse
import sys

import yaml

# Kinds that carry a pod template, and where it is.
POD_KINDS = {
    "Pod": lambda o: o.get("spec", {}),
    "Deployment": lambda o: o["spec"]["template"]["spec"],
    "StatefulSet": lambda o: o["spec"]["template"]["spec"],
    "DaemonSet": lambda o: o["spec"]["template"]["spec"],
    "ReplicaSet": lambda o: o["spec"]["template"]["spec"],
    "Job": lambda o: o["spec"]["template"]["spec"],
    "CronJob": lambda o: o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
}

# Volume types Pod Security "restricted" allows.
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}
VOLUME_META = {"name"}

# Servers whose health endpoints kubelet must probe over HTTPS.
HTTPS_SERVERS = {"coordinator", "attestd"}

# cofre's own components; every other pod is a confidential workload, which
# must start through the launcher.
INFRASTRUCTURE = HTTPS_SERVERS | {"agent"}

VARIANTS = ("sim", "sevsnp", "tdx", "sgx")


def load(paths):
    """Returns every non-empty YAML document of the files, in order."""
    docs = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    return docs


def ident(o):
    md = o.get("metadata", {})
    return f"{o.get('kind')}/{md.get('namespace', '')}/{md.get('name')}"


def pod_labels(o):
    if o["kind"] == "Pod":
        return o.get("metadata", {}).get("labels", {})
    if o["kind"] == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return o["spec"]["template"].get("metadata", {}).get("labels", {})


def component(o):
    return pod_labels(o).get("app.kubernetes.io/component", "")


def schema_errors(docs, kube_version):
    """Validates each object against the bundled Kubernetes schemas."""
    import kubernetes_validate  # imported here: the other checks need only PyYAML

    errs = []
    for o in docs:
        try:
            kubernetes_validate.validate(o, kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            errs.append(f"schema/invalid: {ident(o)}: {e.message} at {'.'.join(map(str, e.path))}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errs.append(f"schema/unknown-kind: {ident(o)}: {e}")
    return errs


def _is_agent_socket_exception(o, variant, vol, containers):
    """The SIMULATION node agent's socket directory: a hostPath volume is
    allowed only on sim, only on the agent (read-write, it makes the socket)
    and on workloads (read-only, they connect to it)."""
    if variant != "sim" or "hostPath" not in vol:
        return False
    path = vol["hostPath"].get("path", "")
    if path.rstrip("/") != "/run/cofre":
        return False
    if component(o) == "agent" and o["kind"] == "DaemonSet":
        return True
    for c in containers:
        for m in c.get("volumeMounts", []):
            if m.get("name") == vol["name"] and not m.get("readOnly"):
                return False
    return True


def _is_socket_dir_init(o, variant, c, init):
    """The agent's init container that chowns the socket directory: root
    with CAP_CHOWN alone, on sim only."""
    sc = c.get("securityContext", {})
    return (variant == "sim" and init and component(o) == "agent"
            and o["kind"] == "DaemonSet" and c.get("name") == "socket-dir"
            and sc.get("capabilities", {}).get("add") == ["CHOWN"]
            and sc.get("allowPrivilegeEscalation") is False)


def security_errors(docs, variant):
    errs = []
    sas = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
           for o in docs if o.get("kind") == "ServiceAccount"}
    for o in docs:
        if o.get("kind") not in POD_KINDS:
            continue
        spec = POD_KINDS[o["kind"]](o)
        who = ident(o)
        comp = component(o)
        if variant != "sim" and comp == "agent":
            errs.append(f"security/agent-on-hardware: {who}: the node agent serves SIMULATION evidence only")
        if spec.get("automountServiceAccountToken") is not False:
            errs.append(f"security/sa-token: {who}: automountServiceAccountToken must be false")
        sa_name = spec.get("serviceAccountName")
        sa = sas.get((o["metadata"].get("namespace", ""), sa_name))
        if not sa_name or sa_name == "default":
            errs.append(f"security/service-account: {who}: needs its own ServiceAccount")
        elif sa is None:
            errs.append(f"security/service-account: {who}: ServiceAccount {sa_name} is not in the manifests")
        elif sa.get("automountServiceAccountToken") is not False:
            errs.append(f"security/sa-token: {who}: ServiceAccount {sa_name} must set automountServiceAccountToken false")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                errs.append(f"security/host-namespace: {who}: {host}")
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            errs.append(f"security/run-as-non-root: {who}: pod securityContext.runAsNonRoot must be true")
        if psc.get("runAsUser") == 0:
            errs.append(f"security/run-as-non-root: {who}: pod runs as UID 0")
        pod_seccomp = psc.get("seccompProfile", {}).get("type")

        containers = spec.get("containers", [])
        all_containers = [(c, False) for c in containers] + [(c, True) for c in spec.get("initContainers", [])]
        for vol in spec.get("volumes", []):
            kinds = set(vol) - VOLUME_META
            if kinds - RESTRICTED_VOLUMES and not _is_agent_socket_exception(o, variant, vol, containers):
                errs.append(f"security/volume-type: {who}: volume {vol['name']} is {sorted(kinds)}")

        for c, init in all_containers:
            cw = f"{who} container {c.get('name')}"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                errs.append(f"security/privilege-escalation: {cw}: allowPrivilegeEscalation must be false")
            if sc.get("privileged"):
                errs.append(f"security/privileged: {cw}")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                errs.append(f"security/capabilities: {cw}: must drop ALL")
            exception = _is_socket_dir_init(o, variant, c, init)
            if caps.get("add") and not exception:
                errs.append(f"security/capabilities: {cw}: adds {caps['add']}")
            if sc.get("readOnlyRootFilesystem") is not True:
                errs.append(f"security/read-only-root: {cw}: readOnlyRootFilesystem must be true")
            if (sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0) and not exception:
                errs.append(f"security/run-as-non-root: {cw}: runs as root")
            seccomp = sc.get("seccompProfile", {}).get("type", pod_seccomp)
            if seccomp not in ("RuntimeDefault", "Localhost"):
                errs.append(f"security/seccomp: {cw}: seccompProfile must be RuntimeDefault")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(kind, {}):
                        errs.append(f"security/resources: {cw}: no {kind}.{r}")
        if comp in HTTPS_SERVERS:
            errs.extend(_probe_errors(who, containers[0] if containers else {}))
        if comp not in INFRASTRUCTURE:
            errs.extend(_launcher_errors(who, spec, variant))
    return errs


def _probe_errors(who, c):
    errs = []
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("scheme") != "HTTPS":
            errs.append(f"security/probes: {who}: {probe} must GET {path} over HTTPS")
    return errs


# Where a confidential workload's policy puts its files on hardware TEEs.
FILES_DIR = "/run/cofre"


def _launcher_errors(who, spec, variant):
    """A confidential workload's container runs cofre run -- CMD, and its
    secret files land in a memory-backed emptyDir."""
    errs = []
    c = spec.get("containers", [{}])[0]
    cmd = c.get("command", []) + c.get("args", [])
    if cmd[:2] != ["/usr/local/bin/cofre", "run"] or "--" not in cmd or cmd[-1] == "--":
        errs.append(f"security/launcher: {who}: entrypoint must be /usr/local/bin/cofre run ... -- CMD")
        return errs
    flags = cmd[2:cmd.index("--")]
    files_root = next((a.split("=", 1)[1] for a in flags if a.startswith("--files-root=")), None)
    mem_vols = {v["name"] for v in spec.get("volumes", [])
                if v.get("emptyDir", {}).get("medium") == "Memory"}
    mounted = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    # Simulation: the launcher writes the policy's files below --files-root.
    # Hardware: --files-root is refused (the files go to the paths the
    # policy names, which the policy puts under /run/cofre), so /run/cofre
    # is the memory-backed emptyDir.
    if variant == "sim":
        if files_root is None or mounted.get(files_root) not in mem_vols:
            errs.append(f"security/secret-files: {who}: --files-root must be an emptyDir with medium Memory")
    elif files_root is not None:
        errs.append(f"security/secret-files: {who}: --files-root with {variant} evidence is refused by the launcher")
    elif mounted.get(FILES_DIR) not in mem_vols:
        errs.append(f"security/secret-files: {who}: {FILES_DIR} must be an emptyDir with medium Memory")
    tee = next((a.split("=", 1)[1] for a in flags if a.startswith("--tee=")), None)
    if tee != variant:
        errs.append(f"security/launcher: {who}: --tee={tee}, want {variant}")
    if variant != "sim" and "--insecure-simulation" in flags:
        errs.append(f"security/launcher: {who}: --insecure-simulation outside a sim cluster")
    return errs


def _selects(np, o):
    if np["metadata"].get("namespace", "") != o["metadata"].get("namespace", ""):
        return False
    sel = np["spec"].get("podSelector", {})
    if sel.get("matchExpressions"):
        return False  # not evaluated here; the chart uses matchLabels only
    labels = pod_labels(o)
    return all(labels.get(k) == v for k, v in sel.get("matchLabels", {}).items())


def network_errors(docs):
    errs = []
    nps = [o for o in docs if o.get("kind") == "NetworkPolicy"]
    for o in docs:
        if o.get("kind") not in POD_KINDS:
            continue
        who = ident(o)
        spec = POD_KINDS[o["kind"]](o)
        mine = [np for np in nps if _selects(np, o)]
        ingress = [np for np in mine if "Ingress" in np["spec"].get("policyTypes", [])]
        if not ingress:
            errs.append(f"network/missing: {who}: no NetworkPolicy restricts its ingress")
            continue
        ports = {p["containerPort"] for c in spec.get("containers", []) for p in c.get("ports", [])}
        names = {p.get("name") for c in spec.get("containers", []) for p in c.get("ports", []) if p.get("name")}
        for np in ingress:
            for rule in np["spec"].get("ingress", []):
                rports = rule.get("ports")
                if not rports:
                    errs.append(f"network/all-ports: {who}: {ident(np)} admits every port")
                    continue
                for p in rports:
                    if p.get("port") not in ports | names:
                        errs.append(f"network/port: {who}: {ident(np)} admits port {p.get('port')}, not one it serves")
        if component(o) == "agent":
            ok = any(set(np["spec"].get("policyTypes", [])) >= {"Ingress", "Egress"}
                     and not np["spec"].get("ingress") and not np["spec"].get("egress") for np in mine)
            if not ok or ports:
                errs.append(f"network/agent: {who}: the agent must have no network ingress or egress (socket only)")
    return errs


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", required=True, choices=VARIANTS)
    ap.add_argument("--kube-version", default="1.33.0")
    ap.add_argument("--no-schema", action="store_true", help="skip the schema check (tests of the other checks)")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    docs = load(args.files)
    if not any(o.get("kind") in POD_KINDS for o in docs):
        print("check_manifests: no workload in the manifests", file=sys.stderr)
        return 1
    errs = [] if args.no_schema else schema_errors(docs, args.kube_version)
    errs += security_errors(docs, args.variant) + network_errors(docs)
    for e in errs:
        print(e, file=sys.stderr)
    kinds = sum(1 for o in docs if o.get("kind") in POD_KINDS)
    print(f"check_manifests: {args.variant}: {len(docs)} objects, {kinds} workloads, {len(errs)} failures")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
