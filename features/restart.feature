@restart
Feature: Restart — the data is still there, and the numbering goes on
  Stopping and starting Lithair must change nothing: every article comes back exactly as it
  was, and new articles continue the numbering where it stopped.

  Scenario: 1000 articles survive a clean restart, and 1000 more follow on
    Given a running Lithair server
    When I create 1000 articles
    And I restart the server
    Then all 1000 articles are present with identical content
    When I create 1000 articles
    Then the events.raftlog file contains exactly 2000 ArticleCreated events
    And the article ids run from 0 to 1999 without gaps
    And every record of the events.raftlog file is valid
    And the events are in chronological order
    And the health counters match what was written
