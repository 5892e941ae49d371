"""Open data: everything public on Moot as Frictionless Data Packages (CSV + JSON Lines).

``resources`` declares what is published (and so, by omission, what never is), ``package`` builds
the descriptors and the cheap validators (ETag, Last-Modified), ``stream`` copies rows straight out
of PostgreSQL in constant memory, ``pages`` serves it all over HTTP, and ``moot export`` writes
the same packages to disk.
"""
