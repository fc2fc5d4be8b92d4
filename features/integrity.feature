@integrity
Feature: Integrity — every acknowledged write is in the log, exactly once
  Lithair acknowledges an article only once its event is safely in the events.raftlog file.
  However the articles arrive — one after another, or from many clients at once — the log
  must hold each of them exactly once, with a valid checksum, and the ids must run without gaps.

  Scenario: 1000 articles created one after another
    Given a running Lithair server
    When I create 1000 articles
    Then the events.raftlog file exists
    And the events.raftlog file contains exactly 1000 ArticleCreated events
    And no article is missing from the events.raftlog file
    And every article checksum in the events.raftlog file is valid

  Scenario: 10000 articles created in parallel by 50 clients
    Given a running Lithair server
    When 50 workers each create 200 articles at the same time
    Then all 10000 articles are present with identical content
    And the events.raftlog file contains exactly 10000 ArticleCreated events
    And no event is duplicated
    And the article ids run from 0 to 9999 without gaps
    And the events.raftlog file holds what was sent
    And the health counters match what was written

  Scenario: 1000 clients each creating 10 articles at the same moment
    Given a running Lithair server
    When 1000 workers each create 10 articles at the same time
    Then the events.raftlog file contains exactly 10000 ArticleCreated events
    And the article ids are unique
    And no event is duplicated
    And every record of the events.raftlog file is valid
