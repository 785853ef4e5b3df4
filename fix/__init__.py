"""The FIX gateway: an acceptor for FIX 4.4 and FIX 5.0 over FIXT 1.1, one session per API key,
on the hosted EMS's mapping (contract §7). Orders go through the same request functions as /v1
(orders.requests); execution reports are read from the event stream (stream.reader).

QuickFIX is an optional extra (`pip install .[fix]`): only the gateway's own modules (gateway,
front, application, translate, delivery) import it, never the models or the app config.
"""
