"""The words of screeners, mailboxes and phone menus, for the offline recogniser.

pocketsphinx only knows the sentences its language model is built from
(`dialtone/offline/lm.py`), so the reminder call's recogniser is built with these as
well as the persona's: without them it could not hear the cues `answering.phrase_cue`
looks for. Written from public descriptions of Google Call Screen / Call Assist, iOS
screening, carrier voicemail greetings and business phone menus.
"""

from __future__ import annotations

#: What the offline recogniser must know to hear these cues: the words of common
#: screener prompts, mailbox greetings and menus (the recogniser only knows the
#: sentences it is given; see `offline/lm.py`).
GREETING_PHRASES: tuple[str, ...] = (
    # call screeners
    "hi the person you're calling is using a screening service",
    "and will get a copy of this conversation",
    "go ahead and say your name and why you're calling",
    "please state your name and the reason for your call",
    "if you record your name and reason for calling i'll see if this person is available",
    "this call is being screened",
    "who is calling and what are you calling about",
    "please stay on the line",
    # mailboxes
    "the person you are trying to reach is not available",
    "the number you have dialed is not available",
    "at the tone please record your message",
    "when you are finished recording you may hang up",
    "your call has been forwarded to an automatic voice message system",
    "hi you've reached jane please leave a message after the beep",
    "you have reached the voicemail of",
    "you have reached the voice mailbox of",
    "sorry i missed your call leave your name and number and i'll get back to you",
    "i can't come to the phone right now",
    "i can't take your call right now",
    "i'm not available right now please leave a message",
    "i'm away from my desk",
    "i will call you back as soon as i can",
    "the mailbox is full and cannot accept any messages at this time",
    "the voice mailbox has not been set up goodbye",
    # phone menus
    "thank you for calling maple street dental",
    "welcome to the clinic",
    "for the front desk press one",
    "for billing press two",
    "for reception press one",
    "for the nursing station press three",
    "to reach a resident's room press four",
    "for appointments press one",
    "for the pharmacy press five",
    "for english press one",
    "press six press seven press eight press nine press zero",
    "press star press pound",
    "if you know your party's extension you may dial it at any time",
    "please enter the extension of the person you are trying to reach",
    "to dial by name press nine for the directory press eight",
    "to repeat these options press star",
    "to return to the main menu press star",
    "please select from the following options",
    "please listen carefully as our menu options have changed",
    "for all other calls press zero",
    "if this is a medical emergency hang up and dial nine one one",
    "otherwise stay on the line",
    # people
    "hello who is this",
    "hello this is ann speaking",
    "hi who's calling",
    "good morning",
    "good afternoon",
    "yes speaking",
    "yeah hello",
)
