@cluster @serial
Feature: Only nodes that know the cluster's secret take part
  Every message between nodes, and every administration request, carries proof of the
  cluster's shared secret. A process that does not know it can neither join, nor vote, nor
  disturb the leader: its requests are refused and change nothing.

  Scenario: A rogue node with the wrong secret changes nothing
    Given a 3-node Lithair cluster
    When 5 articles are created through node 1
    And a rogue process sends every node a vote request, log entries and a membership change without the secret
    Then every node refused them as unauthorised
    And the cluster's term, leader and members did not change
    And every acknowledged write is present on every node
