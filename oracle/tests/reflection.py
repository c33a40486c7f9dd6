"""A standard gRPC client (grpc-requests, from PyPI) against the oracle's explorer: lists the
services through server reflection, then calls GetHotspot with no .proto files at hand.

    python reflection.py HOST:PORT HOTSPOT_KEY     -> one JSON line
"""
import json
import sys

from grpc_requests import Client

endpoint, key = sys.argv[1], sys.argv[2]
client = Client.get_by_endpoint(endpoint)
services = client.service_names
hotspot = client.request("hexproof.v1.Explorer", "GetHotspot", {"pubkey": key})
print(json.dumps({"services": services, "hotspot": hotspot}))
