"""Certificates for mutual TLS between the services: a private CA and one certificate per identity.

Generator and grader serve only the episode service, and tell it apart from any other process by the
certificate it presents: signed by the cluster's CA, with the identity as its common name. This module
makes such a set (`generate_cluster_certs`, or `python -m mlopsdebug_common.certs DIR`) in the layout
that MLOPSDEBUG_MTLS_DIR names:

    DIR/ca.crt                       the CA every service trusts (its key is not kept)
    DIR/<identity>.crt, .key         per identity: episode, generator, grader, operator (key mode 0600)

Every certificate is valid for client and server authentication, and names as DNS subject alternative
names its identity (how the episode service checks it reached the real generator or grader, whatever
address it dialled), `localhost`, 127.0.0.1 and ::1, and any extra DNS names asked for (Kubernetes
service names such as `generator.<namespace>.svc.cluster.local`). `operator` is an identity that no
service serves beyond health checks and reflection: for launchers, probes and tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import ipaddress
import os
import pathlib
import sys
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

IDENTITIES = ("episode", "generator", "grader", "operator")
CA_FILE = "ca.crt"
VALID_DAYS = 825  # the longest lifetime common TLS stacks accept for a leaf certificate


@dataclasses.dataclass(frozen=True)
class ClusterCerts:
    """Where one generated set lives: the CA certificate, and a certificate and key per identity."""

    directory: pathlib.Path
    ca: pathlib.Path
    certs: dict[str, pathlib.Path]
    keys: dict[str, pathlib.Path]


def cert_path(directory: str | os.PathLike[str], identity: str) -> pathlib.Path:
    return pathlib.Path(directory) / f"{identity}.crt"


def key_path(directory: str | os.PathLike[str], identity: str) -> pathlib.Path:
    return pathlib.Path(directory) / f"{identity}.key"


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mlops-debug-env"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _write_private(path: pathlib.Path, data: bytes) -> None:
    """Writes a key readable by its owner only, from the first byte (never briefly world-readable)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def generate_cluster_certs(
    directory: str | os.PathLike[str],
    *,
    identities: Iterable[str] = IDENTITIES,
    extra_dns_names: Iterable[str] = (),
    valid_days: int = VALID_DAYS,
) -> ClusterCerts:
    """Makes a fresh CA and one certificate + key per identity in `directory` (created, mode 0700).

    Existing files of the same names are replaced. The CA's private key is never written: nobody can
    add an identity to this set later, and a new set means a new CA.
    """
    root = pathlib.Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    now = datetime.datetime.now(datetime.UTC)
    not_before, not_after = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=valid_days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("mlops-debug-env cluster CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = root / CA_FILE
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    extra = [name for name in extra_dns_names if name]
    certs: dict[str, pathlib.Path] = {}
    keys: dict[str, pathlib.Path] = {}
    for identity in identities:
        if not identity or "/" in identity or identity.startswith("."):
            raise ValueError(f"not a usable identity name: {identity!r}")
        key = ec.generate_private_key(ec.SECP256R1())
        dns_names = list(dict.fromkeys([identity, "localhost", *extra]))
        san = x509.SubjectAlternativeName([
            *(x509.DNSName(name) for name in dns_names),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(identity))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(san, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        certs[identity] = cert_path(root, identity)
        keys[identity] = key_path(root, identity)
        certs[identity].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(
            keys[identity],
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
        )
    return ClusterCerts(directory=root, ca=ca_path, certs=certs, keys=keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlopsdebug_common.certs",
        description="Make a private CA and one certificate per service identity, for MLOPSDEBUG_MTLS_DIR.",
    )
    parser.add_argument("directory", help="where to write ca.crt and <identity>.crt/.key (created)")
    parser.add_argument("--dns", action="append", default=[], metavar="NAME",
                        help="an extra DNS name for every certificate (repeatable), e.g. a Kubernetes service name")
    args = parser.parse_args(argv)
    made = generate_cluster_certs(args.directory, extra_dns_names=args.dns)
    print(f"wrote {made.ca} and certificates for {', '.join(made.certs)} in {made.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
