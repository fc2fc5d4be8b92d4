@ordering
Feature: Event order — the log tells what happened, in the order it happened
  Each action is written as one event, in the order the server accepted the actions, with
  timestamps that always increase. References between events stay intact.

  Scenario: a short story of an article
    Given a running Lithair server
    When I perform these actions in order:
      | action                 |
      | create an article      |
      | register a user        |
      | modify the article     |
      | comment on the article |
      | delete the article     |
    Then the events.raftlog file holds these events in this order:
      | event          |
      | ArticleCreated |
      | UserCreated    |
      | ArticleUpdated |
      | CommentAdded   |
      | ArticleDeleted |
    And the events are in chronological order
    And the comment refers to its article and its author
    And the events.raftlog file holds what was sent
    And the health counters match what was written
