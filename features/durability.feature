@durability
Feature: Durability — nothing acknowledged is ever lost
  A write Lithair has acknowledged survives a crash of the server. These scenarios kill the real
  server process (as a crash would), restart it, and look for every acknowledged write. A killed
  process cannot lose what it already handed to the operating system, so they prove the promise
  against process crashes; power loss is not simulated (see the durability documentation).

  Scenario: 100 articles survive a crash in fsync mode
    Given a running Lithair server with fsync durability
    When I create 100 articles
    And the server crashes
    And I start the server again
    Then all 100 articles are present with identical content
    And every record of the events.raftlog file is valid

  @slow @serial
  Scenario Outline: killed again and again under full write load, <durability> mode loses nothing acknowledged
    Given a running Lithair server with <durability> durability
    When the server is killed at a random moment under full write load, 10 times over
    Then every acknowledged write is present
    And only writes in flight at a crash can be unaccounted for
    And every record of the events.raftlog file is valid

    Examples:
      | durability |
      | fsync      |
      | flush      |

  @serial
  Scenario Outline: killed 3 times while 16 clients write, <durability> mode loses nothing acknowledged
    Given a running Lithair server with <durability> durability
    When the server is killed at a random moment under full write load, 3 times over
    Then every acknowledged write is present
    And only writes in flight at a crash can be unaccounted for
    And the events.raftlog file holds each acknowledged write once, exactly as sent

    Examples:
      | durability |
      | fsync      |
      | flush      |

  @serial
  Scenario: hundreds of writers at once in flush mode, checked record by record
    With this many writers the log writer's groups are large: every group must reach the log
    whole, once, and in the order of its sequence numbers.
    Given a running Lithair server with flush durability
    When 400 clients create 4000 articles
    Then the events.raftlog file holds each acknowledged write once, exactly as sent
    When the server crashes
    And I start the server again
    Then every acknowledged write is present
    And the events.raftlog file holds each acknowledged write once, exactly as sent

  @serial
  Scenario: async mode trades the last moments for speed
    A write is acknowledged before its group is written, so a crash may lose that one group,
    and a group holds at most one write per client: never more than the writes in flight.
    Given a running Lithair server with async durability
    When 50 clients create 1000 articles
    Then the server handled at least 5000 requests per second
    When the server crashes
    And I start the server again
    Then at most one group of acknowledged writes was lost at each crash
    And every record of the events.raftlog file is valid

  @serial
  Scenario: async mode killed 3 times while 16 clients write loses at most the group in flight
    Given a running Lithair server with async durability
    When the server is killed at a random moment under full write load, 3 times over
    Then at most one group of acknowledged writes was lost at each crash
    And every record of the events.raftlog file is valid

  @serial
  Scenario: a clean stop in the middle of heavy writing loses nothing and leaves no torn record
    Given a running Lithair server
    When the server is stopped while clients write at full speed
    Then every record of the events.raftlog file is valid
    When I start the server again
    Then every acknowledged write is present
