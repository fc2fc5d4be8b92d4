@cluster @serial
Feature: A cluster elects one leader and keeps every acknowledged write on every node
  Three or five Lithair servers form one cluster: they elect a leader, the leader takes the
  writes, and a write is acknowledged only once a majority of the nodes have it on disk.
  Clients may talk to any node: a follower sends writes on to the leader.

  Scenario: Three nodes elect one leader
    Given a 3-node Lithair cluster
    Then one node leads and the others follow it

  Scenario: Writes sent to any node reach every node
    Given a 3-node Lithair cluster
    When 30 articles are created through node 2
    Then every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index

  Scenario: A follower sends writes on to the leader
    Given a 3-node Lithair cluster
    Then a follower answers a write with a redirect to the leader

  Scenario: Five nodes elect one leader and replicate
    Given a 5-node Lithair cluster
    Then one node leads and the others follow it
    When 20 articles are created through node 5
    Then every acknowledged write is present on every node
