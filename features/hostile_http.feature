@http @hostile
Feature: Hostile HTTP — every abusive client gets a clear answer, and nobody else notices
  Clients that send too much, too slowly, twice framed, or not HTTP at all get a clear error or
  a clean close; nothing they send is half-applied, and well-behaved clients beside them are
  served as usual. Limits and timeouts are in docs/api.md ("Limits and timeouts").

  Scenario: an oversized body sent in full before reading still gets its 413
    Given a running Lithair server
    When 6 clients each send a 2 MiB article in full before reading, half with Content-Length and half chunked
    Then every client sent its whole request
    And every client was answered 413 payload_too_large
    And every connection was closed by the server within 8 seconds
    When a client announces a 2 MiB article with Expect: 100-continue
    Then every client was answered 413 payload_too_large
    And every client got one answer only
    And every connection was closed by the server within 3 seconds
    And no event was written
    And the server is still healthy

  Scenario: request smuggling shapes get 400 and a closed connection
    Given a running Lithair server
    When clients send these raw requests:
      | request                              |
      | Content-Length and Transfer-Encoding |
      | two different Content-Lengths        |
      | an invalid chunk size                |
    Then every client was answered 400
    And every client got one answer only
    And every connection was closed by the server within 3 seconds
    And no event was written
    And the server is still healthy

  Scenario: a request head beyond 16 KiB gets 431 with a JSON error, and requests within it are served
    Given a running Lithair server
    When a client sends an article with a 70000-byte header
    Then every client was answered 431 request_head_too_large
    And every connection was closed by the server within 3 seconds
    When a client sends an article with a 20000-byte header
    Then every client was answered 431 request_head_too_large
    When a client sends a GET with a 70000-byte URI
    Then every client was answered 431 request_head_too_large
    And every connection was closed by the server within 3 seconds
    And no event was written
    When a client sends an article with a 10000-byte header
    Then every client was answered 201
    And every acknowledged write is present

  @serial
  Scenario: slow clients are cut off, and normal clients beside them do not notice
    Given a running Lithair server started with "--header-timeout 1 --body-timeout 1 --durability flush"
    When a client sends its request head one byte every 100 ms
    Then every connection was closed by the server within 3 seconds
    When a client sends its body one byte every 100 ms
    Then every client was answered 408 body_timeout
    And every connection was closed by the server within 3 seconds
    And no event was written
    When 50 normal clients make 20 requests each, alone and then beside 40 slow clients
    Then every connection was closed by the server within 4 seconds
    And the normal clients saw no error
    And the p99 latency of the normal clients stayed within 2 times the one alone

  @serial
  Scenario: 5,000 idle connections do not stop the server from answering others
    Given a running Lithair server with flush durability
    When 5000 idle connections are open while 20 normal clients make 50 requests each
    Then the normal clients saw no error
    And the p99 latency of the normal clients stayed within 2 times the one alone
    And the server is still healthy

  Scenario: beyond --max-connections a client gets 503 and a close
    Given a running Lithair server started with "--max-connections 10"
    When 10 clients hold a connection open
    And one more client sends a request
    Then every client was answered 503 too_many_connections
    And every connection was closed by the server within 3 seconds
    When the clients holding connections leave
    Then a new client is served again within 3 seconds

  Scenario: clients vanishing mid-request and mid-response lose nothing and half-apply nothing
    Given a running Lithair server with flush durability
    When 8 clients write 25 articles each while 8 others disconnect abruptly mid-request and mid-response
    Then every acknowledged write is present
    And no half-sent article was applied
    When I restart the server
    Then every acknowledged write is present
    And no half-sent article was applied
    And the server log shows no error

  Scenario: garbage on the socket gets a 400 or a close within a second
    Given a running Lithair server
    When clients send these raw requests:
      | request            |
      | random bytes       |
      | a TLS ClientHello  |
      | the HTTP/2 preface |
      | a GET with a body  |
    Then every client got a 400 or a close within 1 second
    And no event was written
    And the server is still healthy
    And the server log shows no error
