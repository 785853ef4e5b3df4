"""What the /v1 routers share: key authentication, schemas, the wire format and the error
answers. The API itself is assembled from the apps' routers in emsweb/urls.py."""
