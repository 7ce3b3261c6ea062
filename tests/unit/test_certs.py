"""The cluster certificates: layout, permissions, names, usages, and that each chains to its own CA."""

from __future__ import annotations

import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mlopsdebug_common import certs
from mlopsdebug_common.rpc import MutualTls


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return certs.generate_cluster_certs(tmp_path_factory.mktemp("certs"), extra_dns_names=["generator.ml.svc"])


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


class TestClusterCerts:
    def test_layout_and_private_keys(self, made):
        """ca.crt plus <identity>.crt/.key for every identity; keys and the directory are owner-only."""
        names = sorted(p.name for p in made.directory.iterdir())
        assert names == sorted(["ca.crt"] + [f"{i}.{ext}" for i in certs.IDENTITIES for ext in ("crt", "key")])
        assert set(made.certs) == set(certs.IDENTITIES) == {"episode", "generator", "grader", "operator"}
        for key in made.keys.values():
            assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(made.directory.stat().st_mode) == 0o700

    def test_each_certificate_names_its_identity_and_chains_to_the_ca(self, made):
        ca = load(made.ca)
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        for identity, path in made.certs.items():
            cert = load(path)
            assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == identity
            cert.verify_directly_issued_by(ca)
            assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert {identity, "localhost", "generator.ml.svc"} <= set(san.get_values_for_type(x509.DNSName))
            assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)

    def test_keys_match_their_certificates(self, made):
        from cryptography.hazmat.primitives import serialization

        for identity in certs.IDENTITIES:
            key = serialization.load_pem_private_key(made.keys[identity].read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert key.public_key() == load(made.certs[identity]).public_key()

    def test_every_set_has_its_own_ca(self, made, tmp_path):
        """A second set's certificates do not chain to the first set's CA (clusters never trust each other)."""
        other = certs.generate_cluster_certs(tmp_path, identities=("episode",))
        with pytest.raises(InvalidSignature):
            load(other.certs["episode"]).verify_directly_issued_by(load(made.ca))

    def test_bad_identity_names_are_refused(self, tmp_path):
        with pytest.raises(ValueError):
            certs.generate_cluster_certs(tmp_path, identities=("../episode",))

    def test_the_command_line_writes_a_set(self, tmp_path, capsys):
        assert certs.main([str(tmp_path / "set"), "--dns", "episode.example"]) == 0
        assert (tmp_path / "set" / "grader.key").exists() and "episode" in capsys.readouterr().out
        loaded = MutualTls.from_dir(tmp_path / "set", "episode")
        assert loaded.cert.startswith(b"-----BEGIN CERTIFICATE") and loaded.identity == "episode"

    def test_a_missing_file_stops_the_service_with_its_name(self, tmp_path):
        with pytest.raises(SystemExit, match="MLOPSDEBUG_MTLS_DIR's CA certificate"):
            MutualTls.from_dir(tmp_path, "episode")
