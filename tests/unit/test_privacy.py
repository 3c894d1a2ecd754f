from casework.privacy import mask_id_number, mask_name, mask_phone


def test_masks_keep_only_what_identifies_a_record_not_a_person():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("110101199003071234") == "1101**********1234"
    assert mask_name("张三丰") == "张**"
    assert mask_phone(None) == mask_name("") == ""
