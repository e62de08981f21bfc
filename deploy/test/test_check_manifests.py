"""Tests of check_manifests: each check passes compliant manifests and
refuses each violation with its own check id.

Run: python3 -m unittest discover -s deploy/test -p 'test_*.py'
"""

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_manifests as cm  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLE = os.path.join(ROOT, "deploy", "k8s", "example-workload.yaml")
AGENT = os.path.join(ROOT, "deploy", "test", "testdata", "sim-agent.yaml")


def find(docs, kind):
    return next(o for o in docs if o["kind"] == kind)


def pod(docs):
    return find(docs, "DaemonSet" if any(o["kind"] == "DaemonSet" for o in docs) else "Deployment")["spec"]["template"]["spec"]


def ids(errs):
    """The check ids of the failures ("security/seccomp"), deduplicated."""
    return sorted({e.split(":", 1)[0] for e in errs})


def check(docs, variant, schema=False):
    errs = cm.security_errors(docs, variant) + cm.network_errors(docs)
    if schema:
        errs += cm.schema_errors(docs, "1.33.0")
    return errs


def set_probe_server(docs, component, probes):
    """Turns the example into one of the HTTPS servers, with or without probes."""
    d = find(docs, "Deployment")
    d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = component
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["command"], c["args"] = ["/usr/local/bin/cofre"], ["coordinator"]
    if probes:
        c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTPS"}}
        c["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "http", "scheme": "HTTPS"}}


def container(docs):
    return pod(docs)["containers"][0]


def args(docs):
    return container(docs)["args"]


class WorkloadChecks(unittest.TestCase):
    """The plain SEV-SNP example: fully restricted, no exceptions."""

    def setUp(self):
        self.base = cm.load([EXAMPLE])

    def test_compliant(self):
        self.assertEqual(check(self.base, "sevsnp", schema=True), [])

    def test_https_server_probes(self):
        docs = copy.deepcopy(self.base)
        set_probe_server(docs, "coordinator", probes=True)
        self.assertEqual(ids(cm.security_errors(docs, "sevsnp")), [])

    def test_violations(self):
        cases = [
            ("pod token mounted", lambda d: pod(d).update(automountServiceAccountToken=True), "security/sa-token"),
            ("sa token mounted", lambda d: find(d, "ServiceAccount").pop("automountServiceAccountToken"), "security/sa-token"),
            ("default service account", lambda d: pod(d).pop("serviceAccountName"), "security/service-account"),
            ("service account missing", lambda d: d.remove(find(d, "ServiceAccount")), "security/service-account"),
            ("host network", lambda d: pod(d).update(hostNetwork=True), "security/host-namespace"),
            ("pod may run as root", lambda d: pod(d)["securityContext"].pop("runAsNonRoot"), "security/run-as-non-root"),
            ("container uid 0", lambda d: container(d)["securityContext"].update(runAsUser=0), "security/run-as-non-root"),
            ("privilege escalation", lambda d: container(d)["securityContext"].update(allowPrivilegeEscalation=True), "security/privilege-escalation"),
            ("privileged", lambda d: container(d)["securityContext"].update(privileged=True), "security/privileged"),
            ("capabilities kept", lambda d: container(d)["securityContext"]["capabilities"].update(drop=[]), "security/capabilities"),
            ("capability added", lambda d: container(d)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]), "security/capabilities"),
            ("writable root", lambda d: container(d)["securityContext"].update(readOnlyRootFilesystem=False), "security/read-only-root"),
            ("no seccomp", lambda d: (container(d)["securityContext"].pop("seccompProfile"), pod(d)["securityContext"].pop("seccompProfile")), "security/seccomp"),
            ("unconfined seccomp", lambda d: container(d)["securityContext"].update(seccompProfile={"type": "Unconfined"}), "security/seccomp"),
            ("no memory limit", lambda d: container(d)["resources"]["limits"].pop("memory"), "security/resources"),
            ("no cpu request", lambda d: container(d)["resources"]["requests"].pop("cpu"), "security/resources"),
            ("hostPath", lambda d: pod(d)["volumes"].append({"name": "h", "hostPath": {"path": "/run/cofre"}}), "security/volume-type"),
            ("files on disk", lambda d: pod(d)["volumes"][0]["emptyDir"].pop("medium"), "security/secret-files"),
            ("files root on hardware", lambda d: args(d).insert(0, "--files-root=/run/cofre"), "security/secret-files"),
            ("files dir elsewhere", lambda d: container(d)["volumeMounts"][0].update(mountPath="/run/other"), "security/secret-files"),
            ("not the launcher", lambda d: container(d).update(command=["/app/server"]), "security/launcher"),
            ("no program", lambda d: args(d).pop(), "security/launcher"),
            ("wrong tee", lambda d: args(d).__setitem__(3, "--tee=sim"), "security/launcher"),
            ("simulation on hardware", lambda d: args(d).insert(0, "--insecure-simulation"), "security/launcher"),
            ("no network policy", lambda d: d.remove(find(d, "NetworkPolicy")), "network/missing"),
            ("policy selects others", lambda d: find(d, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"].update(x="y"), "network/missing"),
            ("egress-only policy", lambda d: find(d, "NetworkPolicy")["spec"].update(policyTypes=["Egress"]), "network/missing"),
            ("every port", lambda d: find(d, "NetworkPolicy")["spec"]["ingress"][0].pop("ports"), "network/all-ports"),
            ("foreign port", lambda d: find(d, "NetworkPolicy")["spec"]["ingress"][0]["ports"].append({"port": 22}), "network/port"),
            ("server without probes", lambda d: set_probe_server(d, "attestd", probes=False), "security/probes"),
        ]
        for name, mutate, want in cases:
            with self.subTest(name):
                docs = copy.deepcopy(self.base)
                mutate(docs)
                got = ids(check(docs, "sevsnp"))
                self.assertIn(want, got)

    def test_http_probe_refused(self):
        docs = copy.deepcopy(self.base)
        set_probe_server(docs, "coordinator", probes=True)
        container(docs)["readinessProbe"]["httpGet"]["scheme"] = "HTTP"
        self.assertEqual(ids(cm.security_errors(docs, "sevsnp")), ["security/probes"])

    def test_schema(self):
        cases = [
            ("wrong type", lambda d: find(d, "Deployment")["spec"].update(replicas="one"), "schema/invalid"),
            ("unknown field", lambda d: container(d).update(imagePullPolcy="Always"), "schema/invalid"),
            ("missing required", lambda d: container(d).pop("name"), "schema/invalid"),
            ("unknown kind", lambda d: d.append({"apiVersion": "cofre.dev/v1", "kind": "Nonesuch", "metadata": {"name": "x"}}), "schema/unknown-kind"),
        ]
        for name, mutate, want in cases:
            with self.subTest(name):
                docs = copy.deepcopy(self.base)
                mutate(docs)
                self.assertEqual(ids(cm.schema_errors(docs, "1.33.0")), [want])


class AgentChecks(unittest.TestCase):
    """The SIMULATION node agent and its documented exceptions."""

    def setUp(self):
        self.base = cm.load([AGENT])

    def test_compliant_on_sim(self):
        self.assertEqual(check(self.base, "sim", schema=True), [])

    def init(self, docs):
        return pod(docs)["initContainers"][0]

    def test_violations(self):
        cases = [
            ("agent on hardware", "sevsnp", lambda d: None, "security/agent-on-hardware"),
            ("hostPath on hardware", "sevsnp", lambda d: None, "security/volume-type"),
            ("root init on hardware", "sevsnp", lambda d: None, "security/run-as-non-root"),
            ("other host directory", "sim", lambda d: pod(d)["volumes"][0]["hostPath"].update(path="/var/run"), "security/volume-type"),
            ("init with more capabilities", "sim", lambda d: self.init(d)["securityContext"]["capabilities"].update(add=["CHOWN", "SYS_ADMIN"]), "security/capabilities"),
            ("init renamed", "sim", lambda d: self.init(d).update(name="setup"), "security/run-as-non-root"),
            ("agent as root", "sim", lambda d: pod(d)["containers"][0]["securityContext"].update(runAsUser=0), "security/run-as-non-root"),
            ("agent egress", "sim", lambda d: find(d, "NetworkPolicy")["spec"].update(egress=[{}]), "network/agent"),
            ("agent ingress only", "sim", lambda d: find(d, "NetworkPolicy")["spec"].update(policyTypes=["Ingress"]), "network/agent"),
            ("agent tcp port", "sim", lambda d: pod(d)["containers"][0].update(ports=[{"containerPort": 9444}]), "network/agent"),
        ]
        for name, variant, mutate, want in cases:
            with self.subTest(name):
                docs = copy.deepcopy(self.base)
                mutate(docs)
                self.assertIn(want, ids(check(docs, variant)))

    def test_workload_socket_mount(self):
        """A sim workload may mount the agent's socket directory read-only, never read-write."""
        for read_only, want in ((True, []), (False, ["security/volume-type"])):
            with self.subTest(read_only=read_only):
                docs = cm.load([EXAMPLE])
                args(docs).__setitem__(3, "--tee=sim")
                # Simulation: the files go below --files-root, not /run/cofre.
                args(docs).insert(0, "--files-root=/run/cofre-files")
                container(docs)["volumeMounts"][0].update(mountPath="/run/cofre-files")
                pod(docs)["volumes"].append({"name": "sock", "hostPath": {"path": "/run/cofre", "type": "Directory"}})
                container(docs)["volumeMounts"].append({"name": "sock", "mountPath": "/run/cofre", "readOnly": read_only})
                self.assertEqual(ids(check(docs, "sim")), want)


class Main(unittest.TestCase):
    def test_exit_codes(self):
        self.assertEqual(cm.main(["--variant", "sevsnp", EXAMPLE]), 0)
        self.assertEqual(cm.main(["--variant", "sim", EXAMPLE]), 1)  # --tee=sevsnp on a sim cluster
        with self.assertRaises(SystemExit) as e:
            cm.main(["--variant", "nonesuch", EXAMPLE])
        self.assertEqual(e.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
