"""Telling people: the outbox, its delivery worker, and the e-mail, Slack and webhook channels.

    outbox.enqueue(session, call, "held")     # inside the transition's own transaction
    notifier = Notifier(store, policies, settings)
    notifier.run_once()                       # route new events, deliver what is due (the background loop)

A notification failure never blocks, delays or loses a call: enqueueing is one INSERT in the
transition's transaction, and everything that talks to the outside world runs in the worker.
"""
