"""Market data for the trading screen: venues' books and candles, read by workers for the
instruments someone has on screen, kept in Redis and pushed to the pages over /stream/market.

- interest: who has what on screen (a registry in Redis that open screens refresh);
- feed: the worker's side, reading venues and the watched accounts' state (market.tasks);
- wire: the messages and the Redis names both sides share;
- hub and consumer: the web process's side, one Redis subscription per instrument per process.
"""
