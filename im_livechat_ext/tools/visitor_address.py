"""What the waiting line keeps of a visitor's network address (SPEC F16:
bounded per address). Nothing here touches a cursor."""

import hashlib
import hmac
import ipaddress


def address_digest(secret, address):
    """What the line keeps of a visitor's network address: a keyed digest,
    enough to count visitors from one address, not to read it back. An
    IPv6 address counts as its /64 network (one subscriber's share), an
    IPv4-mapped one as its IPv4 address."""
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        key = address
    else:
        if parsed.version == 6 and parsed.ipv4_mapped:
            parsed = parsed.ipv4_mapped
        key = str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:32]
