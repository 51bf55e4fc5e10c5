"""`comet tls init DIR`: a certificate authority and a node certificate for
mutual TLS between Comet's processes (``--tls-ca/--tls-cert/--tls-key``).

Every gRPC channel of a TLS cluster checks that the peer's certificate is
signed by the cluster's CA and names ``comet-cluster`` (whatever IP it dials),
so one node certificate may serve every node; ``--host`` adds names and IPs
for HTTPS to the dashboard. Keys are written with mode 0600 in a 0700 folder.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

import click

# The name every Comet certificate carries; channels verify it (grpc_auth.cc).
TLS_TARGET_NAME = "comet-cluster"
VALID_DAYS = 365


def _require_cryptography():  # noqa: ANN202 - returns modules
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise click.ClickException(
            "comet tls init needs the 'cryptography' package: pip install cryptography") from None
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _san_entries(x509, hosts: list[str]) -> list:  # noqa: ANN001
    entries, seen = [], set()
    for host in [TLS_TARGET_NAME, "localhost", "127.0.0.1", *hosts]:
        if host in seen:
            continue
        seen.add(host)
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return entries


def make_certificates(out_dir: Path, hosts: list[str]) -> dict[str, Path]:
    """Writes ca.pem, ca.key, node.pem and node.key under out_dir; returns
    their paths. The CA key stays here: it signs more node certificates."""
    x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID = _require_cryptography()
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Comet cluster CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True, crl_sign=True,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))

    node_key = ec.generate_private_key(ec.SECP256R1())
    node_cert = (x509.CertificateBuilder()
                 .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                             TLS_TARGET_NAME)]))
                 .issuer_name(ca_name).public_key(node_key.public_key())
                 .serial_number(x509.random_serial_number())
                 .not_valid_before(start).not_valid_after(end)
                 .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                 .add_extension(x509.SubjectAlternativeName(_san_entries(x509, hosts)),
                                critical=False)
                 .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                       ExtendedKeyUsageOID.CLIENT_AUTH]),
                                critical=False)
                 .sign(ca_key, hashes.SHA256()))

    pem = serialization.Encoding.PEM
    key_format = (serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    paths = {name: out_dir / name for name in ("ca.pem", "ca.key", "node.pem", "node.key")}
    paths["ca.pem"].write_bytes(ca_cert.public_bytes(pem))
    paths["node.pem"].write_bytes(node_cert.public_bytes(pem))
    _write_private(paths["ca.key"], ca_key.private_bytes(pem, *key_format))
    _write_private(paths["node.key"], node_key.private_bytes(pem, *key_format))
    return paths


@click.group()
def tls() -> None:
    """Certificates for mutual TLS between Comet's processes."""


@tls.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", "hosts", multiple=True,
              help="A DNS name or IP the node certificate also names (for HTTPS to the "
                   "dashboard); repeatable. localhost and 127.0.0.1 are always named.")
def init(directory: Path, hosts: tuple[str, ...]) -> None:
    """Make a CA and a node certificate in DIRECTORY (created with mode 0700)."""
    existing = [p for p in ("ca.pem", "node.pem") if (directory / p).exists()]
    if existing:
        raise click.ClickException(
            f"{directory} already has {', '.join(existing)}; pick an empty directory")
    paths = make_certificates(directory, list(hosts))
    d = directory.resolve()
    click.echo(f"Wrote {', '.join(str(p.name) for p in paths.values())} to {d}.\n"
               "Start every node with\n"
               f"    comet start ... --tls-ca={d}/ca.pem --tls-cert={d}/node.pem "
               f"--tls-key={d}/node.key\n"
               "and run drivers with\n"
               f"    COMET_TLS_CA={d}/ca.pem COMET_TLS_CERT={d}/node.pem "
               f"COMET_TLS_KEY={d}/node.key python your_script.py\n"
               "Keep ca.key offline once every node has its certificate.")
