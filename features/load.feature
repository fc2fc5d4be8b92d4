@load @serial
Feature: Persistence under load — nothing is lost, however hard it is pushed
  Under sustained and heavy load every acknowledged write still lands in the log exactly once,
  the log stays valid, and what the server serves is what the log says.

  @slow
  Scenario: a steady 500 articles per second for a minute
    Given a running Lithair server
    When articles are created at a steady 500 per second for 60 seconds
    Then every request succeeded
    And the events.raftlog file contains exactly 30000 ArticleCreated events
    And every record of the events.raftlog file is valid
    And every acknowledged write is in the events.raftlog file

  @slow
  Scenario: stress — 100000 creations, 10000 changes, 5000 deletions
    Given a running Lithair server
    When 50 clients create 100000 articles
    And 50 clients modify 10000 articles
    And 50 clients delete 5000 articles
    Then every request succeeded
    And the events.raftlog file contains exactly 100000 ArticleCreated events
    And the events.raftlog file contains exactly 10000 ArticleUpdated events
    And the events.raftlog file contains exactly 5000 ArticleDeleted events
    And the server reports 95000 active articles
    And replaying the events.raftlog file gives 95000 active articles
    And the articles served match a replay of the events.raftlog file
    And the events are in chronological order
    When I stop the server
    Then every record of the events.raftlog file is valid

  Scenario: 50000 articles in 10 batches
    Given a running Lithair server
    When I create 50000 articles in batches of 5000
    Then every request succeeded
    And the events.raftlog file is at least 5 MB
    And no article is missing from the events.raftlog file
    And the articles served match a replay of the events.raftlog file
    And a request right after is answered within 100 ms

  Scenario: a large database — 1000 articles of 10 KB
    Given a running Lithair server
    When I create 1000 articles of 10 KB
    Then every request succeeded
    And the events.raftlog file is at least 10 MB
    And every article reads back byte for byte
    When 20 clients read existing articles for 5 seconds
    Then every request succeeded
    And 99% of the requests were answered within 50 ms
    When I restart the server
    Then the server started in less than 5 seconds
    And every article reads back byte for byte
