"""Serving the jam app to the other devices of a room: its addresses and a certificate.

Browsers give the microphone only to pages of a secure context: https, or this computer's own
``localhost``. A phone joining a session over the room's network opens the app at this
computer's network address, so the app must be served over https there. Without a
certificate from an authority (which needs a domain name), drumjam makes its own, signed by
itself, for this computer's names and addresses (:func:`ensure_certificate`): each browser
asks once whether to trust it, and the page is then a secure context. The certificate's
SHA-256 fingerprint, printed when the app starts, lets the player check on the phone that it
is this computer's.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from drumjam.errors import InputError

#: How long a certificate made here is valid.
VALID_DAYS = 397
#: A certificate this close to its end is made again.
RENEW_DAYS = 30
CERT_FILE, KEY_FILE = "drumjam-cert.pem", "drumjam-key.pem"


@dataclass(frozen=True)
class Certificate:
    """A certificate and its key on disk.

    Attributes
    ----------
    cert_file, key_file : Path
        PEM files (the key readable by its owner only).
    fingerprint_sha256 : str
        The certificate's SHA-256 fingerprint, as browsers show it (``AB:CD:...``).
    names : tuple of str
        The host names and addresses it is valid for.
    made : bool
        Whether it was made now (False: an earlier one still covers every name).
    """

    cert_file: Path
    key_file: Path
    fingerprint_sha256: str
    names: tuple[str, ...]
    made: bool


def lan_addresses() -> list[str]:
    """This computer's IPv4 addresses on its networks (loopback excluded), the one of its
    default route first; no packet is sent."""
    found: list[str] = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("198.51.100.1", 9))  # a documentation address: only the route is looked up
        found.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    try:
        found += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    out: list[str] = []
    for a in found:
        ip = ipaddress.ip_address(a)
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local) and a not in out:
            out.append(a)
    return out


def host_names() -> list[str]:
    """The names this computer answers to on its network: its host name and ``NAME.local``
    (mDNS), beside ``localhost``."""
    name = socket.gethostname().split(".")[0].lower()
    names = ["localhost"]
    if name and name != "localhost":
        names += [name, f"{name}.local"]
    return names


def _fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _covered(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return ({n.lower() for n in san.get_values_for_type(x509.DNSName)}
            | {str(a) for a in san.get_values_for_type(x509.IPAddress)})


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for n in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            entries.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(entries)


def ensure_certificate(folder: str | Path, *, names: Sequence[str],
                       now: dt.datetime | None = None) -> Certificate:
    """A self-signed certificate for ``names``, made in ``folder`` unless one there already
    covers them all for at least :data:`RENEW_DAYS` more days.

    Parameters
    ----------
    folder : str or Path
        Where the certificate and its key are kept (made if missing).
    names : sequence of str
        Host names and IP addresses the app is reached at.
    now : datetime, optional
        The time (UTC) to judge validity at; now by default.

    Returns
    -------
    Certificate

    Raises
    ------
    InputError
        When the folder cannot be written, or a name is neither a host name nor an address.
    """
    wanted = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    for n in wanted:
        try:
            ipaddress.ip_address(n)
        except ValueError:
            if not all(part and len(part) <= 63 and part.replace("-", "").isalnum()
                       for part in n.split(".")):
                raise InputError(f"{n!r} is not a host name or an IP address; give names like "
                                 "drums.local or addresses like 192.168.1.20") from None
    now = now or dt.datetime.now(dt.timezone.utc)
    folder = Path(folder)
    cert_file, key_file = folder / CERT_FILE, folder / KEY_FILE
    if cert_file.is_file() and key_file.is_file():
        try:
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        except ValueError:
            cert = None  # unreadable: made again
        if (cert is not None and set(wanted) <= _covered(cert)
                and cert.not_valid_after_utc - now > dt.timedelta(days=RENEW_DAYS)):
            return Certificate(cert_file, key_file, _fingerprint(cert),
                               tuple(sorted(_covered(cert))), made=False)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drumjam on this computer"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "drumjam")])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(_san(wanted), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        # the key readable by its owner only, from the moment it exists
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
        os.chmod(key_file, 0o600)
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise InputError(f"cannot keep the certificate in {folder} ({exc.strerror}); "
                         "set DRUMJAM_HOME to a folder you can write to") from None
    return Certificate(cert_file, key_file, _fingerprint(cert), wanted, made=True)
