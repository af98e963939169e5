"""Certificates for the scenario tests, made with python3-cryptography:
an authority, and leaves with any validity window (expired, about to
expire), which the openssl command line of Debian 12 cannot backdate.
Keys are written 0600, as openssl does."""
import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write_key(path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def _write_certs(path, *certs):
    with open(path, "wb") as f:
        for c in certs:
            f.write(c.public_bytes(serialization.Encoding.PEM))


class Authority:
    """A CA in directory d: ca.pem, ca.key."""

    def __init__(self, d, cn="test CA", days=3650):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(_now() - DAY)
                     .not_valid_after(_now() + days * DAY)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = os.path.join(d, "ca.pem")
        _write_certs(self.pem, self.cert)
        _write_key(os.path.join(d, "ca.key"), self.key)

    def issue(self, cn, days=365, start_days=-1, server_names=(), name=None):
        """A leaf valid from start_days to days from now (negative: in the
        past); returns (cert_path, key_path). server_names makes it a
        server certificate with those DNS names."""
        name = name or cn
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(self.cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(_now() + start_days * DAY)
             .not_valid_after(_now() + days * DAY)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), True))
        if server_names:
            b = (b.add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName(n) for n in server_names]), False)
                 .add_extension(x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH]), False))
        else:
            b = b.add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        cert = b.sign(self.key, hashes.SHA256())
        crt, kp = (os.path.join(self.dir, name + ".pem"),
                   os.path.join(self.dir, name + ".key"))
        _write_certs(crt, cert, self.cert)
        _write_key(kp, key)
        return crt, kp
