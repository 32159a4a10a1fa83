"""aiocoap as an OSCORE server: `oscore_server.py PORT CONTEXT_DIR` serves GET /3303/0/5700
("21.5", text/plain) only through the OSCORE context in CONTEXT_DIR, and prints "ready"."""
import asyncio
import sys

import aiocoap
import aiocoap.resource as resource
from aiocoap.credentials import CredentialsMap
from aiocoap.oscore_sitewrapper import OscoreSiteWrapper


class Temperature(resource.Resource):
    async def render_get(self, request):
        return aiocoap.Message(content_format=0, payload=b"21.5")


async def main(port, contextdir):
    site = resource.Site()
    site.add_resource(["3303", "0", "5700"], Temperature())
    creds = CredentialsMap()
    creds.load_from_dict({":client": {"oscore": {"contextfile": contextdir}}})
    await aiocoap.Context.create_server_context(
        OscoreSiteWrapper(site, creds), bind=("127.0.0.1", port))
    print("ready", flush=True)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
